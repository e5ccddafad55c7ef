"""What the collectors measure outside requests: Celery tasks (signals) and queue
depths (a periodic platform task), and the per-request counters that the middleware
and the instrumented cache share.

Collector metric names (stored per tenant, category `system`; docs/performance.md):

| name | labels | value |
| --- | --- | --- |
| http_request_duration_seconds | view, method, status (2xx...) | a request's latency |
| http_request_db_queries | view | database queries of the request |
| http_request_cpu_seconds | view | CPU time of the request's thread |
| cache_hits, cache_misses | view | cache reads of the request (when any) |
| celery_task_duration_seconds | task, state | a task's run time |
| celery_task_cpu_seconds | task | CPU time of the task's thread |
| celery_task_queue_wait_seconds | task | from publication to start |
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

from perf_mgr import prometheus, recording
from perf_mgr.models import Category

log = logging.getLogger("dim.perf")

SENT_AT_HEADER = "dim_sent_at"
QUEUE_DEPTHS_KEY = "perf:queue-depths"
SYSTEM = Category.SYSTEM


class RequestStats:
    __slots__ = ("queries", "db_seconds", "cache_hits", "cache_misses")

    def __init__(self):
        self.queries = 0
        self.db_seconds = 0.0
        self.cache_hits = 0
        self.cache_misses = 0

    def count_query(self, execute, sql, params, many, context):
        self.queries += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.db_seconds += time.perf_counter() - start


current_request: ContextVar[RequestStats | None] = ContextVar("dim_perf_request", default=None)


def count_cache(hits: int, misses: int) -> None:
    """Called by the instrumented cache backends (perf_mgr/cache_backends.py)."""
    stats = current_request.get()
    if stats is not None:
        stats.cache_hits += hits
        stats.cache_misses += misses
        return
    from tenancy.context import get_current_tenant

    tenant = get_current_tenant()
    prometheus.observe_cache(tenant.slug if tenant else None, hits, misses)


# --- Celery ---------------------------------------------------------------------------


def _header(request, name):
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


def on_before_publish(sender=None, headers=None, **kwargs):
    if headers is not None:
        headers[SENT_AT_HEADER] = time.time()


def on_task_prerun(sender=None, task_id=None, task=None, **kwargs):
    if task is None:
        return
    sent_at = _header(task.request, SENT_AT_HEADER)
    wait = None
    if isinstance(sent_at, int | float):
        wait = max(0.0, time.time() - sent_at)
    task.request.dim_perf = (time.perf_counter(), time.thread_time(), wait)


def _task_tenant(task):
    from tenancy.celery_guard import request_tenant
    from tenancy.exceptions import TenantMismatch

    try:
        return request_tenant(task.name, task.request)
    except TenantMismatch:
        return None  # refused before it ran: nobody's task


def on_task_postrun(sender=None, task_id=None, task=None, state=None, **kwargs):
    started = getattr(getattr(task, "request", None), "dim_perf", None)
    if started is None:
        return
    seconds = time.perf_counter() - started[0]
    cpu = time.thread_time() - started[1]
    wait = started[2]
    state = (state or "unknown").lower()
    tenant_id = _task_tenant(task)
    prometheus.observe_task(None, task.name, state, seconds, wait)
    if tenant_id is not None:
        name = task.name[:100]
        recording.record_for(
            tenant_id,
            "celery_task_duration_seconds",
            (("state", state), ("task", name)),
            seconds,
            SYSTEM,
        )
        recording.record_for(tenant_id, "celery_task_cpu_seconds", (("task", name),), cpu, SYSTEM)
        if wait is not None:
            recording.record_for(
                tenant_id, "celery_task_queue_wait_seconds", (("task", name),), wait, SYSTEM
            )
    recording.maybe_flush()


def on_worker_process_shutdown(**kwargs):
    try:
        recording.flush()
    except Exception:  # noqa: BLE001  (best effort on the way out)
        log.warning("metrics_lost_at_shutdown", extra={"n": recording.pending()})


def connect_signals() -> None:
    from celery.signals import (
        before_task_publish,
        task_postrun,
        task_prerun,
        worker_process_shutdown,
    )

    before_task_publish.connect(on_before_publish, dispatch_uid="perf_mgr.sent_at", weak=False)
    task_prerun.connect(on_task_prerun, dispatch_uid="perf_mgr.prerun", weak=False)
    task_postrun.connect(on_task_postrun, dispatch_uid="perf_mgr.postrun", weak=False)
    worker_process_shutdown.connect(
        on_worker_process_shutdown, dispatch_uid="perf_mgr.shutdown", weak=False
    )


# --- queue depth ------------------------------------------------------------------------


def queue_names(app) -> list[str]:
    names = {q.name for q in (app.amqp.queues or {}).values()}
    return sorted(names or {app.conf.task_default_queue})


def sample_queue_depths() -> dict:
    """Messages waiting per queue, from the broker (None: the broker did not say)."""
    from celery import current_app
    from django.core.cache import cache

    from tenancy.context import no_tenant

    depths: dict[str, int | None] = {}
    try:
        with current_app.connection_for_read() as conn:
            channel = conn.default_channel
            for name in queue_names(current_app):
                try:
                    depths[name] = int(channel.queue_declare(queue=name, passive=True)[1])
                except Exception:  # noqa: BLE001  (a queue nobody declared yet holds nothing)
                    depths[name] = 0
    except Exception as exc:  # noqa: BLE001  (broker down: report, do not fail the beat)
        log.warning("queue_depth_unavailable", extra={"error": str(exc)})
        return {}
    for name, depth in depths.items():
        if depth is not None:
            prometheus.QUEUE_DEPTH.labels(name).set(depth)
    with no_tenant():  # platform data: the platform's cache namespace
        cache.set(QUEUE_DEPTHS_KEY, {"at": time.time(), "depths": depths}, 3600)
    return depths


def last_queue_depths() -> dict | None:
    from django.core.cache import cache

    from tenancy.context import no_tenant

    try:
        with no_tenant():
            return cache.get(QUEUE_DEPTHS_KEY)
    except Exception:  # noqa: BLE001  (cache down: the figure is unknown, not an error)
        return None
