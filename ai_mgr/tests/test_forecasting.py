"""Forecasts with intervals (statsmodels ETS) and the backtest's MAPE."""

import numpy as np
import pytest

from ai_mgr import forecasting


def _seasonal(n=24 * 14, noise=2.0, seed=1):
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return 100 + 0.05 * i + 20 * np.sin(2 * np.pi * i / 24) + rng.normal(0, noise, n)


def test_forecast_values_seasonal_follows_the_daily_cycle_inside_its_interval():
    y = _seasonal(24 * 16)
    used, mean, lower, upper, params = forecasting.forecast_values(y[:-24], 24, method="seasonal")
    assert used == "seasonal" and "smoothing_level" in params
    assert np.all(lower < mean) and np.all(mean < upper)
    inside = np.mean((y[-24:] >= lower) & (y[-24:] <= upper))
    assert inside >= 0.8
    assert forecasting.mape(y[-24:], mean) < 0.05


def test_forecast_values_linear_extrapolates_a_trend_with_widening_interval():
    y = 10 + 2.0 * np.arange(40) + np.random.default_rng(2).normal(0, 0.5, 40)
    used, mean, lower, upper, _ = forecasting.forecast_values(y, 10, method="linear")
    assert used == "linear"
    assert abs(mean[-1] - (10 + 2.0 * 49)) < 3
    widths = upper - lower
    assert widths[-1] > widths[0]


def test_forecast_values_auto_picks_linear_on_short_history():
    used, *_ = forecasting.forecast_values(np.arange(20.0) + 1, 5, method="auto")
    assert used == "linear"


@pytest.mark.parametrize(
    ("values", "method", "horizon", "code"),
    [
        ([1.0, 2.0], "linear", 3, "too_few_points"),
        ([1.0] * 10 + [float("nan")], "linear", 3, "invalid_values"),
        ([1.0] * 20, "prophet", 3, "unknown_method"),
        ([1.0] * 20, "linear", 0, "invalid_horizon"),
        ([1.0] * 20, "seasonal", 3, "too_few_points"),
    ],
)
def test_forecast_values_bad_input_is_a_typed_error(values, method, horizon, code):
    with pytest.raises(forecasting.ForecastError) as err:
        forecasting.forecast_values(values, horizon, method=method)
    assert err.value.code == code


def test_regularise_averages_cells_and_interpolates_gaps():
    grid, v = forecasting.regularise([0, 10, 3600 * 2, 3600 * 3], [1, 3, 6, 8], 3600)
    assert grid.tolist() == [0, 3600, 7200, 10800]
    assert v.tolist() == [2, 4, 6, 8]


def test_forecast_times_continue_the_grid():
    t = 3600.0 * np.arange(30)
    fc = forecasting.forecast(t, np.arange(30.0) + 5, 3, method="linear")
    assert fc.times == [3600.0 * 30, 3600.0 * 31, 3600.0 * 32]
    assert len(fc.as_dict()["points"]) == 3


def test_mape_ignores_zero_actuals():
    assert forecasting.mape([0, 10], [5, 11]) == pytest.approx(0.1)
    assert forecasting.mape([0, 0], [1, 1]) is None


def test_backtest_seasonal_series_meets_the_target(settings):
    settings.PREDICTION_ACCURACY_TARGET = 0.85
    result = forecasting.backtest(_seasonal(), horizon=24, folds=2)
    assert result["method"] == "seasonal"
    assert result["mape"] < 0.05 and result["meets_target"] and result["target"] == 0.85


def test_backtest_noise_misses_a_strict_target():
    y = np.abs(np.random.default_rng(3).normal(10, 8, 200)) + 0.1
    result = forecasting.backtest(y, horizon=12, folds=2, method="linear", target=0.99)
    assert result["mape"] > 0.01 and not result["meets_target"]
