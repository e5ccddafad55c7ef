"""Training data for the AI manager's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

FEATURES = ["cpu", "latency_ms", "rps"]


def metric_rows(n: int = 300, seed: int = 0, shift: float = 0.0) -> list[dict]:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "timestamp": (start + timedelta(minutes=i)).isoformat(),
            "cpu": float(rng.normal(0.4 + shift, 0.05)),
            "latency_ms": float(rng.normal(20 + 40 * shift, 3)),
            "rps": float(rng.normal(100, 10)),
        }
        for i in range(n)
    ]


def regression_rows(n: int = 200, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        rps, cpu = float(rng.uniform(10, 200)), float(rng.uniform(0.1, 0.9))
        rows.append({"rps": rps, "cpu": cpu, "target": 2.0 * rps + 30 * cpu + 5})
    return rows
