"""Breaker states and pool sizes as Prometheus gauges, shown by perf_mgr's `/metrics`.

prometheus-client's default registry is shared by every app of the process, so the
gauges defined here appear in `/metrics` without this layer importing perf_mgr (the
layers forbid it). In multi-process mode the worst state across live processes is
reported (`livemax`).
"""

from __future__ import annotations

from prometheus_client import Gauge

from connection_mgr import breaker

BREAKER_STATE = Gauge(
    "dim_db_breaker_state",
    "Circuit breaker per database alias: 0 closed, 1 half-open, 2 open.",
    ["alias"],
    multiprocess_mode="livemax",
)
POOL_SIZE = Gauge(
    "dim_db_pool_size",
    "Connections of the pool of a database alias, by kind (size, available, max).",
    ["alias", "kind"],
    multiprocess_mode="liveall",
)


def breaker_changed(alias: str, state: str) -> None:
    BREAKER_STATE.labels(alias).set(breaker.STATE_VALUES[state])


def observe_pool(alias: str, stats: dict) -> None:
    for kind in ("pool_size", "pool_available", "pool_max"):
        if kind in stats:
            POOL_SIZE.labels(alias, kind.removeprefix("pool_")).set(stats[kind])


def install() -> None:
    breaker.on_change(breaker_changed)
