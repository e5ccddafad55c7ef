"""`/metrics` in the Prometheus exposition format, for platform operators' sessions or
scrapers holding the bearer token of `PERFORMANCE_METRICS_TOKEN` (docs/performance.md)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from perf_mgr import process, prometheus


def may_scrape(request) -> bool:
    """A platform operator's console session, or `Authorization: Bearer <token>` with
    the token of `PERFORMANCE_METRICS_TOKEN` (compared in constant time)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_superuser:
        return True
    token = settings.PERFORMANCE_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def metrics_view(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not may_scrape(request):
        response = HttpResponse(
            "Scraping /metrics needs a platform operator's session or the bearer token "
            "of PERFORMANCE_METRICS_TOKEN.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    process.sample()  # this process's CPU and memory, now
    return HttpResponse(generate_latest(prometheus.registry()), content_type=CONTENT_TYPE_LATEST)
