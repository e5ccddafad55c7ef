"""Forecasts of a tenant's metric (issue 15, item 5), in the tenant in context: its hourly
history from the roll-ups, forecast with ai_mgr.forecasting (ETS / Holt-Winters with
prediction intervals), and the backtest's MAPE against PREDICTION_ACCURACY_TARGET.

`stat` chooses what is forecast per hour: `avg` (the values' average, e.g. a latency) or
`rate` (samples per second, e.g. requests per second from the request durations)."""

from __future__ import annotations

import numpy as np
from django.utils import timezone

from ai_mgr import forecasting
from perf_mgr import query
from perf_mgr.models import HOUR_US

STATS = ("avg", "rate")
MAX_HISTORY_HOURS = 24 * 60
SEASON = 24  # hourly points: the daily cycle


def hourly_stat(metric: str, hours: int, stat: str, now_us: int) -> tuple[np.ndarray, np.ndarray]:
    """(hour starts in seconds, the stat per hour) of the last `hours` whole hours."""
    until = now_us - now_us % HOUR_US  # the running hour is incomplete: left out
    since = until - hours * HOUR_US
    found = query.find_series(metric)
    if not found:
        return np.zeros(0), np.zeros(0)
    win = query.make_window(since, until, 3600, now_us=now_us)
    data = query.collect(found, win)
    times, values = [], []
    for index in range(win.buckets()):
        merged = query.Agg()
        for s in found:
            if (s.id, index) in data:
                merged.merge(data[(s.id, index)])
        if merged.count:
            times.append(win.bucket_start(index) / 1e6)
            values.append(merged.avg if stat == "avg" else merged.count / 3600.0)
    return np.asarray(times), np.asarray(values, dtype=float)


def metric_forecast(
    metric: str,
    *,
    history_hours: int = 24 * 14,
    horizon: int = 24,
    method: str = "auto",
    stat: str = "avg",
    now_us: int | None = None,
) -> dict:
    """The forecast of `metric` for the next `horizon` hours, with its band, the history
    it was fitted on and its backtest. ForecastError on bad input or too little data."""
    if stat not in STATS:
        raise forecasting.ForecastError("invalid_stat", "stat must be avg or rate.")
    if not 24 <= history_hours <= MAX_HISTORY_HOURS:
        raise forecasting.ForecastError(
            "invalid_history", f"history_hours must be 24 to {MAX_HISTORY_HOURS}."
        )
    now_us = now_us if now_us is not None else int(timezone.now().timestamp() * 1e6)
    t, v = hourly_stat(metric, history_hours, stat, now_us)
    if t.size < forecasting.MIN_POINTS:
        raise forecasting.ForecastError(
            "too_few_points",
            f"{metric!r} has {t.size} hours of data in the window; a forecast needs "
            f"{forecasting.MIN_POINTS}.",
        )
    fc = forecasting.forecast(t, v, horizon, method=method, season_length=SEASON)
    grid, regular = forecasting.regularise(t, v, 3600.0)
    try:
        backtest = forecasting.backtest(
            regular, horizon=min(horizon, 24), method=method, season_length=SEASON, folds=2
        )
    except forecasting.ForecastError as exc:  # enough to forecast, not to test it
        backtest = {"error": exc.code, "message": exc.message, "meets_target": False}
    return {
        "metric": metric,
        "stat": stat,
        "history": [
            {"at": float(a), "value": float(b)} for a, b in zip(grid, regular, strict=True)
        ],
        "forecast": fc.as_dict(),
        "backtest": backtest,
    }
