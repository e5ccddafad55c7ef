"""Metric histories for the anomaly, forecast and optimisation tests."""

import math

import numpy as np

from perf_mgr.models import HOUR_US, MINUTE_US


def hourly_history(
    name, now_us, *, weeks=3, level=100.0, noise=1.0, per_hour=3, labels=None, daily=0.0
):
    """`per_hour` samples in each whole hour of the last `weeks` weeks before the running
    hour, around `level` (plus a daily sine of amplitude `daily`)."""
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    hour0 = now_us - now_us % HOUR_US
    rows = []
    for h in range(1, weeks * 168 + 1):
        start = hour0 - h * HOUR_US
        base = level + daily * math.sin(2 * math.pi * (start // HOUR_US % 24) / 24)
        for i in range(per_hour):
            value = base + rng.normal(0, noise)
            rows.append((name, labels or {}, float(value), start + (10 + i) * MINUTE_US))
    return rows


def recent(name, now_us, value, *, count=5, labels=None):
    """`count` samples of `value` in the last few minutes."""
    return [(name, labels or {}, float(value), now_us - (i + 1) * MINUTE_US) for i in range(count)]
