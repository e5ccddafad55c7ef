"""Recommendations from measurements (pure computation; perf_mgr gathers the numbers).

Capacity follows Little's law: the work in progress at the peak is rate x time in
service; capacity is that divided by the utilisation the strategy plans for. The peak is
the forecast's upper band when the forecast is trusted, else the observed peak; steps
are bounded by the strategy's `max_step` so one recommendation never doubles a knob
under `conservative`.

Which knobs are tenant-scoped (safe to apply for one tenant, reversible) and which are
platform-wide (advice only: every tenant shares the worker pool and the database pool,
one tenant's advice must not resize them) is decided here, per kind."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ai_mgr.advice.strategies import Strategy

PLATFORM_ONLY = (
    "a platform-wide resource shared by every tenant: an operator changes it in the "
    "deployment ({setting}), it is never changed for one tenant"
)
MAX_TTL_S = 86400
MIN_RATE_LIMIT = 60  # requests per minute: never advise choking a tenant below this


@dataclass
class Signals:
    """What perf_mgr measured for the tenant (None: not measured)."""

    request_rate: float | None = None  # requests/s, the window's average
    request_rate_peak: float | None = None  # requests/s, the planning peak
    request_seconds_avg: float | None = None
    task_rate_peak: float | None = None  # tasks/s
    task_seconds_avg: float | None = None
    queue_wait_p95_s: float | None = None
    cache_hit_ratio: float | None = None
    cache_reads: float = 0.0
    latency_p95_s: float | None = None
    findings: list = field(default_factory=list)  # perf_mgr.bottlenecks.find()
    knobs: dict = field(default_factory=dict)  # current values, by kind
    forecast: dict = field(default_factory=dict)  # backtest of the request-rate forecast


@dataclass
class Advice:
    kind: str
    target: str
    current: object
    proposed: object
    reasoning: str
    expected_effect: str
    auto_applicable: bool
    advice_only_reason: str = ""
    watched_metric: str = "http_request_duration_seconds"
    evidence: dict = field(default_factory=dict)


def _bounded(current: float, wanted: float, step: float) -> float:
    return min(max(wanted, current / step), current * step)


def _kinds(findings, kind):
    return [f for f in findings if f.get("kind") == kind]


def worker_concurrency(s: Signals, st: Strategy) -> Advice | None:
    current = s.knobs.get("celery_concurrency")
    if not current or not s.task_rate_peak or not s.task_seconds_avg:
        return None
    busy = s.task_rate_peak * s.task_seconds_avg  # tasks in service at the peak
    needed = math.ceil(busy / st.utilisation)
    saturated = _kinds(s.findings, "saturated_queue")
    if needed <= current and not saturated:
        return None
    proposed = max(current + 1, math.ceil(_bounded(current, needed, st.max_step)))
    return Advice(
        kind="celery_concurrency",
        target="workers",
        current=current,
        proposed=proposed,
        reasoning=(
            f"At the planning peak of {s.task_rate_peak:.2f} tasks/s taking "
            f"{s.task_seconds_avg:.2f} s each, {busy:.1f} tasks are in service at once; at "
            f"{st.utilisation:.0%} utilisation that needs {needed} worker processes, "
            f"{current} run."
            + (
                f" {len(saturated)} task(s) wait in the queue beyond the limit."
                if saturated
                else ""
            )
        ),
        expected_effect=(
            f"Queue wait falls toward zero (p95 now {s.queue_wait_p95_s or 0:.1f} s); "
            f"worker utilisation at the peak about {busy / proposed:.0%}."
        ),
        auto_applicable=False,
        advice_only_reason=PLATFORM_ONLY.format(setting="CELERY_WORKER_CONCURRENCY"),
        watched_metric="celery_task_queue_wait_seconds",
        evidence={"busy_at_peak": busy, "needed": needed, "saturated": len(saturated)},
    )


def db_pool_size(s: Signals, st: Strategy) -> Advice | None:
    current = s.knobs.get("db_pool_size")
    if not current or not s.request_rate_peak or not s.request_seconds_avg:
        return None
    busy = s.request_rate_peak * s.request_seconds_avg  # requests in flight at the peak
    needed = math.ceil(busy / st.utilisation)
    if needed <= current:
        return None
    proposed = math.ceil(_bounded(current, needed, st.max_step))
    return Advice(
        kind="db_pool_size",
        target="default",
        current=current,
        proposed=proposed,
        reasoning=(
            f"At the planning peak of {s.request_rate_peak:.1f} requests/s lasting "
            f"{s.request_seconds_avg * 1000:.0f} ms on average, about {busy:.1f} requests "
            f"hold a connection at once; at {st.utilisation:.0%} utilisation the pool needs "
            f"{needed}, it has {current}."
        ),
        expected_effect="Requests stop waiting for a pooled connection at the peak.",
        auto_applicable=False,
        advice_only_reason=PLATFORM_ONLY.format(setting="POSTGRES_POOL_SIZE"),
        evidence={"in_flight_at_peak": busy, "needed": needed},
    )


def cache_ttl(s: Signals, st: Strategy) -> Advice | None:
    current = s.knobs.get("cache_ttl_seconds")
    poor = _kinds(s.findings, "cache_misses")
    if not current or not poor:
        return None
    proposed = int(min(MAX_TTL_S, current * st.ttl_factor))
    if proposed <= current:
        return None
    ratio = s.cache_hit_ratio
    return Advice(
        kind="cache_ttl",
        target=", ".join(sorted(f["subject"] for f in poor))[:100],
        current=current,
        proposed=proposed,
        reasoning=(
            f"{len(poor)} view(s) miss the cache on most reads"
            + (
                f" (hit ratio {ratio:.0%} over {int(s.cache_reads)} reads)"
                if ratio is not None
                else ""
            )
            + f"; entries live {current} s. Keeping them {proposed} s lets more repeat reads hit."
        ),
        expected_effect=(
            "A higher hit ratio and fewer database queries per request; data may be up to "
            f"{proposed} s old where views do not invalidate their entries."
        ),
        auto_applicable=True,
        evidence={"views": [f["subject"] for f in poor], "hit_ratio": ratio},
    )


def rate_limit(s: Signals, st: Strategy) -> Advice | None:
    if not s.request_rate_peak:
        return None
    current = s.knobs.get("rate_limit_per_minute")
    wanted = max(MIN_RATE_LIMIT, math.ceil(s.request_rate_peak * 60 / st.utilisation))
    if current is None:
        proposed, why = wanted, "The tenant has no request limit"
    elif current * st.utilisation < s.request_rate_peak * 60:
        proposed = max(current + 1, math.ceil(_bounded(current, wanted, st.max_step)))
        why = f"The limit of {current}/min leaves too little headroom"
    else:
        return None
    return Advice(
        kind="rate_limit",
        target="tenant",
        current=current,
        proposed=proposed,
        reasoning=(
            f"{why}: the planning peak is {s.request_rate_peak * 60:.0f} requests/min, "
            f"planned at {st.utilisation:.0%} of the limit."
        ),
        expected_effect=(
            "The tenant's legitimate peak passes unthrottled while a runaway client is "
            f"held to {proposed}/min instead of starving other tenants."
        ),
        auto_applicable=True,
        evidence={"peak_per_minute": s.request_rate_peak * 60},
    )


RULES = (worker_concurrency, db_pool_size, cache_ttl, rate_limit)


def advise(signals: Signals, strategy: Strategy) -> list[Advice]:
    out = []
    for rule in RULES:
        advice = rule(signals, strategy)
        if advice is not None:
            advice.evidence.setdefault("strategy", strategy.name)
            out.append(advice)
    return out
