"""Request collector: latency, status, database queries, CPU time and cache reads of
every request, per tenant and per *view* (the URL pattern's name, never the raw path,
so a client cannot mint series by inventing URLs).

Placed right after SecurityMiddleware (settings), so it sees the final status of every
response, including the JSON errors that the API's error middleware makes. Requests
without a tenant (anonymous, an operator outside any tenant) only feed Prometheus.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from perf_mgr import collectors, prometheus, recording

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNRESOLVED = "unresolved"
SYSTEM = collectors.SYSTEM


def view_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNRESOLVED
    return (match.view_name or UNRESOLVED)[:100]


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.PERFORMANCE_COLLECT_REQUESTS:
            return self.get_response(request)
        stats = collectors.RequestStats()
        token = collectors.current_request.set(stats)
        started, cpu_started = time.perf_counter(), time.thread_time()
        status = "5xx"
        try:
            with connection.execute_wrapper(stats.count_query):
                response = self.get_response(request)
            status = f"{response.status_code // 100}xx"
            return response
        finally:
            collectors.current_request.reset(token)
            self._record(request, stats, status, started, cpu_started)

    def _record(self, request, stats, status, started, cpu_started) -> None:
        seconds = time.perf_counter() - started
        cpu = time.thread_time() - cpu_started
        view = view_name(request)
        method = request.method if request.method in METHODS else "other"
        tenant = getattr(request, "tenant", None)
        slug = tenant.slug if tenant is not None else None
        prometheus.observe_request(slug, view, method, status, seconds, stats.queries)
        prometheus.observe_cache(slug, stats.cache_hits, stats.cache_misses)
        if tenant is None:
            return
        tid = tenant.pk
        by_view = (("view", view),)
        record = recording.record_for
        record(
            tid,
            "http_request_duration_seconds",
            (("method", method), ("status", status), ("view", view)),
            seconds,
            SYSTEM,
        )
        record(tid, "http_request_db_queries", by_view, float(stats.queries), SYSTEM)
        record(tid, "http_request_cpu_seconds", by_view, cpu, SYSTEM)
        if stats.cache_hits:
            record(tid, "cache_hits", by_view, float(stats.cache_hits), SYSTEM)
        if stats.cache_misses:
            record(tid, "cache_misses", by_view, float(stats.cache_misses), SYSTEM)
        recording.maybe_flush()
