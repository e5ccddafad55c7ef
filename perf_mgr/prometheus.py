"""The process-wide Prometheus side of the collectors, and `/metrics`.

prometheus-client keeps the values: in memory, or, when `PROMETHEUS_MULTIPROC_DIR` is
set (several worker processes), in files of that directory that `/metrics` merges
(the client's multi-process mode; the directory must be emptied when the server starts,
see docs/performance.md). Every metric has a `tenant` label, filled with the tenant's
slug only when the operator sets `PERFORMANCE_PROMETHEUS_TENANT_LABELS` (one series per
tenant, which a large platform may not want); otherwise it is empty, which Prometheus
reads as no label at all. The `/metrics` view is perf_mgr/exposition.py.

Label children are looked up once and kept (`labels()` costs microseconds).
"""

from __future__ import annotations

import os

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

REQUEST_SECONDS = Histogram(
    "dim_http_request_duration_seconds",
    "Request latency by resolved view (never the raw path).",
    ["tenant", "view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
REQUEST_QUERIES = Counter(
    "dim_http_request_db_queries", "Database queries made by requests.", ["tenant", "view"]
)
CACHE_REQUESTS = Counter(
    "dim_cache_requests", "Cache reads of the default cache by result.", ["tenant", "result"]
)
TASK_SECONDS = Histogram(
    "dim_celery_task_duration_seconds",
    "Celery task run time.",
    ["tenant", "task", "state"],
    buckets=TASK_BUCKETS,
)
TASK_WAIT_SECONDS = Histogram(
    "dim_celery_task_queue_wait_seconds",
    "Time between a task's publication and its start.",
    ["tenant", "task"],
    buckets=TASK_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "dim_celery_queue_depth",
    "Messages waiting in a Celery queue (sampled every PERFORMANCE_MONITORING_INTERVAL).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
PROCESS_CPU = Gauge(
    "dim_process_cpu_percent",
    "CPU use of the process over the last interval (psutil).",
    multiprocess_mode="liveall",
)
PROCESS_RSS = Gauge(
    "dim_process_resident_memory_bytes",
    "Resident memory of the process (psutil).",
    multiprocess_mode="liveall",
)
BUFFERED = Gauge(
    "dim_metrics_buffered", "Samples waiting in this process's buffer.", multiprocess_mode="livesum"
)
DROPPED = Counter("dim_metrics_dropped", "Samples dropped because the buffer was full.")
FLUSHED = Counter("dim_metrics_flushed", "Samples written to the database.")
REFUSED_SERIES = Counter(
    "dim_metrics_series_refused", "New series refused by the per-tenant cardinality limit."
)

_children: dict[tuple, object] = {}


def _child(metric, values: tuple):
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def tenant_label(slug: str | None) -> str:
    return (slug or "") if settings.PERFORMANCE_PROMETHEUS_TENANT_LABELS else ""


def observe_request(slug, view: str, method: str, status: str, seconds: float, queries: int):
    tenant = tenant_label(slug)
    _child(REQUEST_SECONDS, (tenant, view, method, status)).observe(seconds)
    if queries:
        _child(REQUEST_QUERIES, (tenant, view)).inc(queries)


def observe_cache(slug, hits: int, misses: int) -> None:
    tenant = tenant_label(slug)
    if hits:
        _child(CACHE_REQUESTS, (tenant, "hit")).inc(hits)
    if misses:
        _child(CACHE_REQUESTS, (tenant, "miss")).inc(misses)


def observe_task(slug, task: str, state: str, seconds: float, wait: float | None) -> None:
    tenant = tenant_label(slug)
    _child(TASK_SECONDS, (tenant, task, state)).observe(seconds)
    if wait is not None:
        _child(TASK_WAIT_SECONDS, (tenant, task)).observe(wait)


def series_refused(count: int) -> None:
    REFUSED_SERIES.inc(count)


def registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY
