"""Forecasts with prediction intervals, and their backtest (issue 15, item 5).

Two methods, after Datadog's forecast monitors:
- `linear`: ETS(A,A,N), Holt's linear trend: level and trend, no season.
- `seasonal`: ETS(A,A,A), additive Holt-Winters: level, trend and a season of
  `season_length` steps (24 for hourly points: the daily cycle).
- `auto`: seasonal when the history holds at least two full seasons, else linear.

statsmodels' ETSModel gives analytic prediction intervals for these additive models,
so a band costs no simulation. The series must be evenly spaced: `regularise()` puts
points on a grid and fills short gaps by interpolation.

The backtest (rolling origin) fits on the past, forecasts the next `horizon` points and
compares with what happened: MAPE, and accuracy = 1 - MAPE against
PREDICTION_ACCURACY_TARGET (the seed's 0.85). Pure computation; no models stored."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

METHODS = ("linear", "seasonal", "auto")
MIN_POINTS = 8
MAX_HORIZON = 24 * 14
DEFAULT_ALPHA = 0.05


class ForecastError(ValueError):
    """Bad input (too few points, NaN, unknown method): the API answers 400 with it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Forecast:
    method: str
    step: float  # seconds between points
    times: list[float]
    mean: list[float]
    lower: list[float]
    upper: list[float]
    alpha: float
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "step_seconds": self.step,
            "alpha": self.alpha,
            "points": [
                {"at": t, "mean": m, "lower": lo, "upper": hi}
                for t, m, lo, hi in zip(self.times, self.mean, self.lower, self.upper, strict=True)
            ],
        }


def regularise(times, values, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points on a grid of `step` seconds from the first time; several points in a cell
    are averaged, empty cells interpolated linearly between their neighbours."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(t) & np.isfinite(v)
    t, v = t[keep], v[keep]
    if t.size == 0:
        return t, v
    start = float(np.floor(t.min() / step) * step)
    cells = np.floor((t - start) / step).astype(np.int64)
    n = int(cells.max()) + 1
    sums = np.bincount(cells, weights=v, minlength=n)
    counts = np.bincount(cells, minlength=n)
    grid = start + step * np.arange(n)
    filled = counts > 0
    out = np.interp(grid, grid[filled], sums[filled] / counts[filled])
    return grid, out


def _check(values: np.ndarray, method: str, horizon: int):
    if method not in METHODS:
        raise ForecastError("unknown_method", f"method must be one of {', '.join(METHODS)}.")
    if not 1 <= horizon <= MAX_HORIZON:
        raise ForecastError("invalid_horizon", f"horizon must be 1 to {MAX_HORIZON} points.")
    if values.size and not np.all(np.isfinite(values)):
        raise ForecastError("invalid_values", "values must be finite numbers (no NaN).")
    if values.size < MIN_POINTS:
        raise ForecastError(
            "too_few_points", f"at least {MIN_POINTS} points are needed, {values.size} given."
        )


def choose_method(n: int, method: str, season_length: int) -> str:
    if method == "auto":
        return "seasonal" if season_length >= 2 and n >= 2 * season_length + 2 else "linear"
    if method == "seasonal" and n < 2 * season_length + 2:
        raise ForecastError(
            "too_few_points",
            f"a seasonal forecast needs two full seasons ({2 * season_length + 2} points), "
            f"{n} given.",
        )
    return method


def _fit(values: np.ndarray, method: str, season_length: int):
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    kw = {"error": "add", "trend": "add"}
    if method == "seasonal":
        kw.update(seasonal="add", seasonal_periods=season_length)
    with warnings.catch_warnings():
        # Convergence chatter of the optimiser: the fit is still the best it found.
        warnings.simplefilter("ignore")
        return ETSModel(pd.Series(values), **kw).fit(disp=False)


def forecast_values(
    values,
    horizon: int,
    *,
    method: str = "auto",
    season_length: int = 24,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, dict]:
    """(method used, mean, lower, upper, parameters) for the next `horizon` points."""
    v = np.asarray(values, dtype=float)
    _check(v, method, horizon)
    if not 0 < alpha < 1:
        raise ForecastError("invalid_alpha", "alpha must be between 0 and 1.")
    used = choose_method(v.size, method, season_length)
    fit = _fit(v, used, season_length)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = fit.get_prediction(start=v.size, end=v.size + horizon - 1).summary_frame(
            alpha=alpha
        )
    pairs = zip(fit.param_names, fit.params, strict=False)
    params = {k: round(float(p), 6) for k, p in pairs if not k.startswith("initial_")}
    return (
        used,
        frame["mean"].to_numpy(dtype=float),
        frame["pi_lower"].to_numpy(dtype=float),
        frame["pi_upper"].to_numpy(dtype=float),
        params,
    )


def forecast(times, values, horizon: int, *, step: float = 3600.0, **kw) -> Forecast:
    """Forecast an irregular series: regularised on `step` first, then forecast_values."""
    grid, v = regularise(times, values, step)
    used, mean, lower, upper, params = forecast_values(v, horizon, **kw)
    last = float(grid[-1])
    return Forecast(
        method=used,
        step=step,
        times=[last + step * (i + 1) for i in range(horizon)],
        mean=mean.tolist(),
        lower=lower.tolist(),
        upper=upper.tolist(),
        alpha=kw.get("alpha", DEFAULT_ALPHA),
        params=params,
    )


def mape(actual, predicted) -> float | None:
    """Mean absolute percentage error over the points whose actual value is not zero
    (a percentage of zero is undefined); None when every actual is zero."""
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    nz = np.abs(a) > 1e-12
    if not nz.any():
        return None
    return float(np.mean(np.abs((a[nz] - p[nz]) / a[nz])))


def accuracy_target() -> float:
    from django.conf import settings

    return float(getattr(settings, "PREDICTION_ACCURACY_TARGET", 0.85))


def backtest(
    values,
    *,
    horizon: int,
    method: str = "auto",
    season_length: int = 24,
    folds: int = 3,
    target: float | None = None,
) -> dict:
    """Rolling-origin backtest: for each of `folds` origins (the last ones, `horizon`
    apart), fit on everything before it and forecast `horizon` points. MAPE over all
    folds; `meets_target` when 1 - MAPE >= the target."""
    v = np.asarray(values, dtype=float)
    if folds < 1:
        raise ForecastError("invalid_folds", "folds must be at least 1.")
    _check(v[: max(v.size - folds * horizon, 0)], method, horizon)
    actual, predicted, used = [], [], set()
    for fold in range(folds, 0, -1):
        origin = v.size - fold * horizon
        name, mean, _lo, _hi, _p = forecast_values(
            v[:origin], horizon, method=method, season_length=season_length
        )
        used.add(name)
        actual.append(v[origin : origin + horizon])
        predicted.append(mean)
    error = mape(np.concatenate(actual), np.concatenate(predicted))
    target = accuracy_target() if target is None else float(target)
    accuracy = None if error is None else max(0.0, 1.0 - error)
    return {
        "method": "/".join(sorted(used)),
        "horizon": horizon,
        "folds": folds,
        "mape": error,
        "accuracy": accuracy,
        "target": target,
        "meets_target": accuracy is not None and accuracy >= target,
    }
