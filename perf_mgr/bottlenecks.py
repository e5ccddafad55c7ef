"""Bottleneck findings of a window, each with its evidence and a suggested fix.

Thresholds come from `settings.PERFORMANCE_BOTTLENECKS` (docs/performance.md); a
finding needs `min_requests` requests (or tasks) of its subject in the window, so one
slow request is not a bottleneck. Severity: `critical` at twice the threshold.
"""

from __future__ import annotations

from django.conf import settings

from perf_mgr import query

REQUEST = "http_request_duration_seconds"
QUERIES = "http_request_db_queries"
WAIT = "celery_task_queue_wait_seconds"


def _by_label(found, aggs, name: str, label: str) -> dict[str, query.Agg]:
    out: dict[str, query.Agg] = {}
    for s in found:
        agg = aggs.get(s.id)
        if s.name == name and agg is not None and agg.count:
            out.setdefault(s.labels.get(label, ""), query.Agg()).merge(agg)
    return out


def _severity(value: float, threshold: float) -> str:
    return "critical" if value >= 2 * threshold else "warning"


def _errors_of(found, aggs, view: str) -> int:
    return sum(
        aggs[s.id].count
        for s in found
        if s.name == REQUEST
        and s.id in aggs
        and s.labels.get("view") == view
        and s.labels.get("status") == "5xx"
    )


def request_views(found, aggs) -> dict[str, query.Agg]:
    """{view: Agg of its requests}: pass it to `find` and `slowest_views` to merge once."""
    return _by_label(found, aggs, REQUEST, "view")


def slowest_views(found, aggs, top: int = 5, views=None) -> list[dict]:
    views = request_views(found, aggs) if views is None else views
    total = sum(a.sum for a in views.values()) or 1.0
    rows = []
    for view, agg in views.items():
        p50, p95 = agg.quantiles([0.5, 0.95])
        rows.append(
            {
                "view": view,
                "requests": agg.count,
                "p50_ms": p50 * 1000,
                "p95_ms": p95 * 1000,
                "share_of_time": agg.sum / total,
            }
        )
    rows.sort(key=lambda r: r["p95_ms"], reverse=True)
    return rows[:top]


def find(found, aggs, views=None) -> list[dict]:
    limits = settings.PERFORMANCE_BOTTLENECKS
    least = limits["min_requests"]
    findings = []
    views = request_views(found, aggs) if views is None else views
    total_time = sum(a.sum for a in views.values()) or 1.0
    for view, agg in views.items():
        if agg.count < least:
            continue
        p50, p95, p99 = agg.quantiles([0.5, 0.95, 0.99])
        if p95 >= limits["slow_p95_seconds"]:
            findings.append(
                {
                    "kind": "slow_view",
                    "severity": _severity(p95, limits["slow_p95_seconds"]),
                    "subject": view,
                    "evidence": {
                        "requests": agg.count,
                        "p50_ms": p50 * 1000,
                        "p95_ms": p95 * 1000,
                        "p99_ms": p99 * 1000,
                        "share_of_request_time": agg.sum / total_time,
                        "threshold_p95_ms": limits["slow_p95_seconds"] * 1000,
                    },
                    "suggestion": (
                        "Profile this view: check its queries per request (below) and time "
                        "in the database, cache what it computes for every request, and move "
                        "slow work to a Celery task."
                    ),
                }
            )
        errors = _errors_of(found, aggs, view)
        if errors / agg.count >= limits["error_rate"]:
            findings.append(
                {
                    "kind": "failing_view",
                    "severity": _severity(errors / agg.count, limits["error_rate"]),
                    "subject": view,
                    "evidence": {"requests": agg.count, "errors_5xx": errors},
                    "suggestion": "Read the server log of these 5xx responses; a failing "
                    "dependency (database, cache) shows in the health page.",
                }
            )
    for view, agg in _by_label(found, aggs, QUERIES, "view").items():
        if agg.count >= least and agg.avg >= limits["queries_per_request"]:
            findings.append(
                {
                    "kind": "many_queries",
                    "severity": _severity(agg.avg, limits["queries_per_request"]),
                    "subject": view,
                    "evidence": {
                        "requests": agg.count,
                        "queries_per_request_avg": agg.avg,
                        "queries_per_request_max": agg.max,
                        "threshold": limits["queries_per_request"],
                    },
                    "suggestion": (
                        "Likely an N+1 pattern: load related rows with select_related() or "
                        "prefetch_related(), or fetch the ids in one query."
                    ),
                }
            )
    findings.extend(_cache_findings(found, aggs, limits))
    for task, agg in _by_label(found, aggs, WAIT, "task").items():
        p95 = agg.quantile(0.95)
        if agg.count >= least and p95 >= limits["queue_wait_p95_seconds"]:
            findings.append(
                {
                    "kind": "saturated_queue",
                    "severity": _severity(p95, limits["queue_wait_p95_seconds"]),
                    "subject": task,
                    "evidence": {
                        "tasks": agg.count,
                        "wait_p95_s": p95,
                        "wait_avg_s": agg.avg,
                        "threshold_s": limits["queue_wait_p95_seconds"],
                    },
                    "suggestion": (
                        "Tasks wait in the queue before a worker takes them: raise the "
                        "worker concurrency, add workers, or route this task to its own queue."
                    ),
                }
            )
    order = {"critical": 0, "warning": 1}
    findings.sort(key=lambda f: (order[f["severity"]], f["kind"], f["subject"]))
    return findings


def _cache_findings(found, aggs, limits) -> list[dict]:
    hits = _by_label(found, aggs, "cache_hits", "view")
    misses = _by_label(found, aggs, "cache_misses", "view")
    out = []
    for view in sorted(set(hits) | set(misses)):
        hit = hits[view].sum if view in hits else 0.0
        miss = misses[view].sum if view in misses else 0.0
        reads = hit + miss
        if reads < limits["min_cache_reads"]:
            continue
        ratio = hit / reads
        if ratio < limits["cache_hit_ratio"]:
            out.append(
                {
                    "kind": "cache_misses",
                    "severity": "critical" if ratio < limits["cache_hit_ratio"] / 2 else "warning",
                    "subject": view,
                    "evidence": {"reads": int(reads), "hit_ratio": ratio},
                    "suggestion": (
                        "Most cache reads of this view miss: check that its keys are stable "
                        "between requests and that entries live long enough (their timeout)."
                    ),
                }
            )
    return out
