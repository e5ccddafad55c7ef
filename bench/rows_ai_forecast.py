"""Forecast backtest rows (issue 15, item 5): the MAPE of ai_mgr.forecasting's seasonal
ETS (Holt-Winters) on a synthetic seasonal series, and on a metric recorded through
perf_mgr's own path (store, roll-up, query) and forecast through perf_mgr.forecasts.
Peer: the seasonal naive forecast (each hour repeats the same hour a day before), the
baseline a forecaster has to beat. Goal: MAPE ≤ 1 − PREDICTION_ACCURACY_TARGET."""

from __future__ import annotations

import hashlib
import math
import time

import numpy as np
from django.conf import settings
from django.db import transaction

from ai_mgr import forecasting
from bench.harness import Goal, Outcome, register
from perf_mgr import forecasts, rollup, store
from perf_mgr.models import HOUR_US, MetricRollup, MetricSample, MetricSeries, now_us
from tenancy.context import tenant_context
from tenancy.models import Tenant

HORIZON = 24
FOLDS = 3


def _target_mape() -> float:
    return 1.0 - float(settings.PREDICTION_ACCURACY_TARGET)


def _naive_mape(values: np.ndarray, folds: int = FOLDS) -> float:
    """Seasonal naive over the same folds as the backtest."""
    actual, predicted = [], []
    for fold in range(folds, 0, -1):
        origin = values.size - fold * HORIZON
        actual.append(values[origin : origin + HORIZON])
        predicted.append(values[origin - 24 : origin - 24 + HORIZON])
    return forecasting.mape(np.concatenate(actual), np.concatenate(predicted))


def _synthetic(days: int = 28) -> np.ndarray:
    rng = np.random.default_rng(15)
    i = np.arange(days * 24)
    daily = 40 * np.sin(2 * np.pi * i / 24) + 15 * np.sin(4 * np.pi * i / 24)
    return 200 + 0.05 * i + daily + rng.normal(0, 6, i.size)


@register(
    "ai.forecast_synthetic",
    title="Forecast backtest: MAPE on a synthetic seasonal series (4 weeks hourly)",
    ours="ai_mgr.forecasting.backtest: seasonal ETS (Holt-Winters, statsmodels), 3 folds of 24 h",
    peer="seasonal naive (the same hour a day earlier), same folds",
    goal=Goal(0.15, "MAPE (≤ 1 − PREDICTION_ACCURACY_TARGET)"),
)
def synthetic_row(ctx):
    values = _synthetic()
    started = time.perf_counter()
    result = forecasting.backtest(values, horizon=HORIZON, folds=FOLDS, method="seasonal")
    seconds = time.perf_counter() - started
    naive = _naive_mape(values)
    return Outcome(
        value=result["mape"],
        ours_text=f"MAPE {result['mape']:.4f} (accuracy {result['accuracy']:.3f}, "
        f"target {result['target']:.2f}: {'met' if result['meets_target'] else 'missed'}; "
        f"{seconds:.2f} s for {FOLDS} fits)",
        peer_text=f"MAPE {naive:.4f}",
        notes=(f"ratio ours/naive {result['mape'] / naive:.2f}×",),
    )


def _workload(size: int) -> float:
    """A real measurement: seconds to hash `size` KiB (the hour's 'request')."""
    block = b"x" * 1024
    started = time.perf_counter()
    digest = hashlib.blake2b()
    for _ in range(size):
        digest.update(block)
    digest.hexdigest()
    return time.perf_counter() - started


def _record(tenant, days: int) -> None:
    """14 days of hourly samples of `bench_hashing_seconds`: each hour runs the workload
    six times at a load that follows a daily cycle, and records what it measured."""
    end = now_us() - now_us() % HOUR_US
    rows = []
    for h in range(days * 24, 0, -1):
        start = end - h * HOUR_US
        hour = (start // HOUR_US) % 24
        size = int(2000 + 1500 * math.sin(2 * math.pi * hour / 24))
        for k in range(6):
            rows.append(("bench_hashing_seconds", (), "custom", _workload(size), start + k))
    with tenant_context(tenant):
        store.write(rows)
        while rollup.roll_up()["more"]:
            pass


def _clean(tenant) -> None:
    with tenant_context(tenant), transaction.atomic():
        for model in (MetricSample, MetricRollup, MetricSeries):
            model.objects.all().delete()


@register(
    "ai.forecast_recorded",
    title="Forecast backtest: MAPE on a metric recorded through perf_mgr (14 days hourly)",
    ours="perf_mgr.forecasts.metric_forecast: samples stored, rolled up, read by the query "
    "API, seasonal ETS, backtest 2 folds of 24 h",
    peer="seasonal naive on the same hourly series",
    goal=Goal(0.15, "MAPE (≤ 1 − PREDICTION_ACCURACY_TARGET)"),
)
def recorded_row(ctx):
    tenant, _ = Tenant.objects.get_or_create(
        slug="bench-ai-forecast", defaults={"name": "bench ai forecast"}
    )
    _clean(tenant)
    days = 14
    _record(tenant, days)
    with tenant_context(tenant):
        body = forecasts.metric_forecast(
            "bench_hashing_seconds", history_hours=days * 24, horizon=HORIZON, method="seasonal"
        )
    _clean(tenant)
    values = np.asarray([p["value"] for p in body["history"]])
    naive = _naive_mape(values, folds=2)  # metric_forecast's backtest: 2 folds
    bt = body["backtest"]
    return Outcome(
        value=bt["mape"],
        ours_text=f"MAPE {bt['mape']:.4f} (accuracy {bt['accuracy']:.3f}, target "
        f"{bt['target']:.2f}: {'met' if bt['meets_target'] else 'missed'})",
        peer_text=f"MAPE {naive:.4f}",
        notes=(
            f"{values.size} hourly points of a real measurement (hashing 0.5–3.5 MiB, the "
            "size following a daily cycle); ratio ours/naive "
            f"{bt['mape'] / naive:.2f}×",
        ),
    )
