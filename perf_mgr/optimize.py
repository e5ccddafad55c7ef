"""Optimisation and auto-scaling advice of a tenant (issue 15, item 6): gather what was
measured, ask ai_mgr.advice, store the recommendations, and apply, roll back and watch
the applicable ones. Everything runs in the tenant in context.

**What can be applied.** Only the tenant's own knobs, kept in its TenantSetting
`performance.tuning`: the cache TTL (allowed by ENABLE_AI_OPTIMIZATION) and the tenant's
request rate limit (allowed by AUTO_SCALING_ENABLED). Worker concurrency and the database
pool are shared by every tenant: advice only, and applying one is refused (409).

**Reversible.** Applying keeps the value it replaced; one call restores it. An applied
recommendation is watched for OPTIMIZATION_WATCH_S: when the p95 of its watched metric
over the last ANOMALY_OBSERVE_S is worse than at the moment it was applied by more than
OPTIMIZATION_ROLLBACK_TOLERANCE, it is rolled back automatically. Every optimise run,
application and rollback is an entry in the tenant's audit log."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from ai_mgr import advice, forecasting
from audit_mgr.actions import record_event
from perf_mgr import bottlenecks, forecasts, query
from perf_mgr import tuning as tuning_memo
from perf_mgr.models import MetricAnomaly, Recommendation, RecommendationStatus
from tenancy import db as tenant_db
from tenancy.context import require_tenant_id
from tenancy.models import TenantSetting

TUNING_KEY = tuning_memo.TUNING_KEY
# kind -> (the key in the tenant's tuning, the setting that allows applying it)
APPLIABLE = {
    "cache_ttl": ("cache_ttl_seconds", "ENABLE_AI_OPTIMIZATION"),
    "rate_limit": ("rate_limit_per_minute", "AUTO_SCALING_ENABLED"),
}
REQUEST = bottlenecks.REQUEST
TASK = "celery_task_duration_seconds"


class OptimizeError(Exception):
    """A refused request: the API answers `status` with `code` and `message`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def tuning() -> dict:
    row = TenantSetting.objects.filter(key=TUNING_KEY).first()
    return dict(row.value) if row and isinstance(row.value, dict) else {}


def _set_tuning(key: str, value) -> None:
    row, _ = TenantSetting.objects.select_for_update().get_or_create(
        key=TUNING_KEY,
        defaults={"value": {}, "description": "Tuning applied by the optimiser (perf_mgr)"},
    )
    values = dict(row.value or {})
    if value is None:
        values.pop(key, None)
    else:
        values[key] = value
    row.value = values
    row.save(update_fields=["value", "updated_at"])


def knobs() -> dict:
    """The current value of each knob the advice may change (None: unknown or unset)."""
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    cache_timeout = settings.CACHES.get("default", {}).get("TIMEOUT", 300)
    mine = tuning()
    return {
        "celery_concurrency": getattr(settings, "CELERY_WORKER_CONCURRENCY", None),
        "db_pool_size": pool.get("max_size") if isinstance(pool, dict) else None,
        "cache_ttl_seconds": mine.get("cache_ttl_seconds", cache_timeout),
        "rate_limit_per_minute": mine.get("rate_limit_per_minute"),
    }


def _window_aggs(seconds: float, now_us: int) -> tuple[list, dict]:
    found = query.find_series()
    win = query.make_window(now_us - int(seconds * 1e6), now_us, now_us=now_us)
    data = query.collect(found, win)
    return found, {sid: agg for (sid, _), agg in data.items()}


def _merged(found, aggs, name) -> query.Agg:
    out = query.Agg()
    for s in found:
        if s.name == name and s.id in aggs:
            out.merge(aggs[s.id])
    return out


def _request_peak(now_us: int, last_hour: float) -> tuple[float | None, dict]:
    """Requests/s to plan for: the forecast's upper band over the next day when its
    backtest meets the target, else the busiest of the last week's whole hours and the
    last 60 minutes (`last_hour`)."""
    try:
        fc = forecasts.metric_forecast(REQUEST, stat="rate", horizon=24, now_us=now_us)
    except (forecasting.ForecastError, query.QueryError):  # too little data: observed peak
        fc = None
    if fc is not None and fc["backtest"].get("meets_target"):
        peak = max(p["upper"] for p in fc["forecast"]["points"])
        return max(peak, 0.0), {"source": "forecast", **fc["backtest"]}
    _, rates = forecasts.hourly_stat(REQUEST, 24 * 7, "rate", now_us)
    backtest = fc["backtest"] if fc else {"meets_target": False}
    peak = max(float(rates.max()) if rates.size else 0.0, last_hour)
    return (peak or None), {"source": "observed", **backtest}


def gather_signals(now_us: int) -> tuple[advice.Signals, dict]:
    found, aggs = _window_aggs(3600, now_us)
    requests, tasks = _merged(found, aggs, REQUEST), _merged(found, aggs, TASK)
    wait = _merged(found, aggs, bottlenecks.WAIT)
    hits = _merged(found, aggs, "cache_hits").sum
    misses = _merged(found, aggs, "cache_misses").sum
    peak, forecast_meta = _request_peak(now_us, requests.count / 3600.0)
    signals = advice.Signals(
        request_rate=requests.count / 3600.0,
        request_rate_peak=peak,
        request_seconds_avg=requests.avg,
        task_rate_peak=tasks.count / 3600.0 or None,
        task_seconds_avg=tasks.avg,
        queue_wait_p95_s=wait.quantile(0.95) if wait.count else None,
        cache_hit_ratio=hits / (hits + misses) if hits + misses else None,
        cache_reads=hits + misses,
        latency_p95_s=requests.quantile(0.95) if requests.count else None,
        findings=bottlenecks.find(found, aggs),
        knobs=knobs(),
        forecast=forecast_meta,
    )
    return signals, forecast_meta


def _anomalies_open(now: dt.datetime) -> bool:
    since = now - dt.timedelta(seconds=2 * float(settings.ANOMALY_OBSERVE_S))
    return MetricAnomaly.objects.filter(observed_at__gte=since).exists()


def recommendation_as_data(rec: Recommendation) -> dict:
    return {
        "id": rec.pk,
        "kind": rec.kind,
        "target": rec.target,
        "strategy": rec.strategy,
        "status": rec.status,
        "current_value": rec.current_value,
        "proposed_value": rec.proposed_value,
        "reasoning": rec.reasoning,
        "expected_effect": rec.expected_effect,
        "auto_applicable": rec.auto_applicable,
        "advice_only_reason": rec.advice_only_reason,
        "watched_metric": rec.watched_metric,
        "evidence": rec.evidence,
        "previous_value": rec.previous_value,
        "applied_at": rec.applied_at,
        "applied_by": rec.applied_by,
        "rolled_back_at": rec.rolled_back_at,
        "rollback_reason": rec.rollback_reason,
        "created_at": rec.created_at,
    }


def allowed(kind: str) -> str | None:
    """None when `kind` may be applied now, else why not."""
    if kind not in APPLIABLE:
        return "advice only"
    flag = APPLIABLE[kind][1]
    return None if getattr(settings, flag, False) else f"{flag} is off"


def optimize_performance(strategy="adaptive", *, actor: str = "", auto_apply: bool = True) -> dict:
    """The seed's optimize_performance for the tenant in context: fresh recommendations
    (earlier proposals superseded), the safe ones applied when the strategy and the
    settings allow. StrategyError for an unknown strategy."""
    require_tenant_id("optimize_performance()")
    now = timezone.now()
    now_us = int(now.timestamp() * 1e6)
    signals, forecast_meta = gather_signals(now_us)
    preset, why = advice.resolve(
        strategy,
        forecast_trusted=bool(forecast_meta.get("meets_target")),
        anomalies_open=_anomalies_open(now),
    )
    advised = advice.advise(signals, preset)
    with tenant_db.atomic():  # the tenant's database (a dedicated one too)
        Recommendation.objects.filter(status=RecommendationStatus.PROPOSED).update(
            status=RecommendationStatus.SUPERSEDED
        )
        stored = [
            Recommendation.objects.create(
                kind=a.kind,
                target=a.target,
                strategy=preset.name,
                current_value=a.current,
                proposed_value=a.proposed,
                reasoning=a.reasoning,
                expected_effect=a.expected_effect,
                evidence={**a.evidence, "forecast": forecast_meta},
                auto_applicable=a.auto_applicable,
                advice_only_reason=a.advice_only_reason,
                watched_metric=a.watched_metric,
            )
            for a in advised
        ]
        record_event(
            "performance.optimize",
            {
                "strategy": str(getattr(strategy, "value", strategy)),
                "used": preset.name,
                "recommendations": [r.pk for r in stored],
            },
            actor=actor,
        )
    applied = []
    if auto_apply and preset.auto_apply:
        for rec in stored:
            if rec.auto_applicable and allowed(rec.kind) is None:
                applied.append(do_apply_recommendation(rec.pk, actor=actor or "optimizer"))
    return {
        "status": "ok",
        "strategy": str(getattr(strategy, "value", strategy)).lower(),
        "strategy_used": preset.name,
        "reason": why,
        "recommendations": [recommendation_as_data(r) for r in stored],
        "applied": [r.pk for r in applied],
        "auto_apply": {
            "ENABLE_AI_OPTIMIZATION": bool(settings.ENABLE_AI_OPTIMIZATION),
            "AUTO_SCALING_ENABLED": bool(settings.AUTO_SCALING_ENABLED),
            "strategy_allows": preset.auto_apply,
        },
    }


def access_recommendation(rec_id) -> Recommendation:
    """The current tenant's recommendation; Recommendation.DoesNotExist for a missing,
    foreign or malformed id alike."""
    try:
        rec_id = int(rec_id)
    except (TypeError, ValueError):
        raise Recommendation.DoesNotExist from None
    if not 0 < rec_id < 2**63:
        raise Recommendation.DoesNotExist
    return Recommendation.objects.get(pk=rec_id)


def _p95(metric: str, seconds: float, now_us: int) -> float | None:
    result = query.evaluate(metric, "p95", seconds, now_us=now_us)
    values = [v for v in result.values() if v is not None]
    return max(values) if values else None


@tenant_db.atomic_function
def do_apply_recommendation(rec_id, *, actor: str = "") -> Recommendation:
    rec = Recommendation.objects.select_for_update().get(pk=access_recommendation(rec_id).pk)
    if not rec.auto_applicable or rec.kind not in APPLIABLE:
        raise OptimizeError(
            409,
            "advice_only",
            f"This recommendation is advice only: {rec.advice_only_reason or 'not safe to apply'}.",
        )
    if rec.status != RecommendationStatus.PROPOSED:
        raise OptimizeError(409, "not_proposed", f"This recommendation is {rec.status}.")
    refused = allowed(rec.kind)
    if refused is not None:
        raise OptimizeError(409, "disabled", f"Applying {rec.kind} is not allowed: {refused}.")
    key = APPLIABLE[rec.kind][0]
    now = timezone.now()
    rec.previous_value = tuning().get(key)
    _set_tuning(key, rec.proposed_value)
    rec.watched_baseline = _p95(
        rec.watched_metric, float(settings.ANOMALY_OBSERVE_S), int(now.timestamp() * 1e6)
    )
    rec.status, rec.applied_at, rec.applied_by = RecommendationStatus.APPLIED, now, actor[:150]
    rec.save(
        update_fields=["previous_value", "watched_baseline", "status", "applied_at", "applied_by"]
    )
    record_event(
        "performance.recommendation.apply",
        {"id": rec.pk, "kind": rec.kind, "from": rec.previous_value, "to": rec.proposed_value},
        actor=actor,
    )
    return rec


@tenant_db.atomic_function
def do_rollback_recommendation(rec_id, *, actor: str = "", reason: str = "") -> Recommendation:
    """Restore the value an applied recommendation replaced (the "self-healing" call)."""
    rec = Recommendation.objects.select_for_update().get(pk=access_recommendation(rec_id).pk)
    if rec.status != RecommendationStatus.APPLIED:
        raise OptimizeError(409, "not_applied", f"This recommendation is {rec.status}.")
    _set_tuning(APPLIABLE[rec.kind][0], rec.previous_value)
    rec.status, rec.rolled_back_at = RecommendationStatus.ROLLED_BACK, timezone.now()
    rec.rollback_reason = (reason or "rolled back on request")[:300]
    rec.save(update_fields=["status", "rolled_back_at", "rollback_reason"])
    record_event(
        "performance.recommendation.rollback",
        {
            "id": rec.pk,
            "kind": rec.kind,
            "restored": rec.previous_value,
            "reason": rec.rollback_reason,
        },
        actor=actor,
    )
    return rec


def do_watch_applied(now: dt.datetime | None = None) -> dict:
    """Roll back the applied recommendations whose watched metric got worse."""
    require_tenant_id("watching applied recommendations")
    now = now or timezone.now()
    observe = float(settings.ANOMALY_OBSERVE_S)
    tolerance = float(settings.OPTIMIZATION_ROLLBACK_TOLERANCE)
    since = now - dt.timedelta(seconds=float(settings.OPTIMIZATION_WATCH_S))
    watched = rolled = 0
    for rec in Recommendation.objects.filter(
        status=RecommendationStatus.APPLIED, applied_at__gte=since
    ):
        if rec.watched_baseline is None or not rec.watched_metric:
            continue
        watched += 1
        # Only what happened since the change counts, at most the observation span.
        span = min(observe, (now - rec.applied_at).total_seconds())
        if span < 60:
            continue
        current = _p95(rec.watched_metric, span, int(now.timestamp() * 1e6))
        if current is not None and current > rec.watched_baseline * (1 + tolerance):
            do_rollback_recommendation(
                rec.pk,
                actor="optimizer.watch",
                reason=(
                    f"{rec.watched_metric} p95 rose from {rec.watched_baseline:.4g} to "
                    f"{current:.4g} (more than {tolerance:.0%}) after it was applied"
                ),
            )
            rolled += 1
    return {"watched": watched, "rolled_back": rolled}
