"""Behavioural analysis of sessions.

Features of a session (`FEATURES`): request rate per minute, distinct IPs, distinct user
agents, distinct networks (/16 of IPv4, /32 of IPv6: a geography proxy), failed
validations, and the hour of day (as sin/cos, so 23:00 is near 00:00).

Score in [0, 1]:
- A tenant with a trained model (>= MIN_TRAIN sessions of history; `train_anomaly_model_
  task`): the IsolationForest anomaly score of Liu et al., s = 2^(-E[h(x)]/c(n)), which
  scikit-learn returns negated by `score_samples`. About 0.5 is ordinary; near 1 is
  isolated after very few splits. The model lives in the AI registry (ai_mgr) as the
  tenant's `session-behaviour` model: versioned, its champion scores, compiled to arrays
  (ai_mgr.compiled) and signed, never unpickled.
- Before that, the robust-statistics score: for each feature, the robust z-score
  |x - median| / (1.4826 * MAD) over the tenant's recent sessions (or fixed priors under
  MIN_BASELINE sessions), and score = 1 / (1 + e^-(z_max - 5)): z = 5 scores 0.5, z = 7
  scores 0.88, z = 8 scores 0.95. Median and MAD ignore the outliers they look for.

Either way the analytics name the features that drove the score: those with the largest
robust z.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta

from django.utils import timezone

from ai_mgr import loader, training
from ai_mgr.exceptions import AIError
from sessions_mgr.models import Session
from tenancy import db as tenant_db
from tenancy import hooks
from tenancy.context import get_current_tenant, tenant_context

log = logging.getLogger("dim.sessions")
FEATURES = ["rate_per_min", "ips", "agents", "networks", "failures", "hour_sin", "hour_cos"]
MIN_BASELINE, MIN_TRAIN, HISTORY_DAYS, HISTORY_MAX = 20, 200, 30, 5000
# Priors for a tenant without history: (median, scale) per feature.
PRIORS = {
    "rate_per_min": (2.0, 2.0),
    "ips": (1.0, 0.5),
    "agents": (1.0, 0.3),
    "networks": (1.0, 0.3),
    "failures": (0.0, 0.5),
    "hour_sin": (0.0, 0.7),
    "hour_cos": (0.0, 0.7),
}
ROBUST = "robust-stats-v1"
MODEL, KIND, SOURCE = "session-behaviour", "session_behaviour", "sessions.history"


def _network(ip: str) -> str:
    return ".".join(ip.split(".")[:2]) if "." in ip else ":".join(ip.split(":")[:2])


def live_features(entry, now: float) -> dict:
    minutes = max((now - entry.first_request) / 60.0, 1.0)
    return {
        "requests": entry.requests,
        "rate_per_min": round(entry.requests / minutes, 3),
        "ips": len(entry.ips),
        "agents": len(entry.agents),
        "networks": len({_network(ip) for ip in entry.ips}),
        "failures": entry.failures,
        "hour": time.gmtime(now).tm_hour,
    }


def vector(features: dict, fallback_hour: int = 12) -> list[float]:
    hour = features.get("hour", fallback_hour)
    angle = 2 * math.pi * float(hour) / 24.0
    return [
        float(features.get("rate_per_min", 0.0)),
        float(features.get("ips", 1)),
        float(features.get("agents", 1)),
        float(features.get("networks", 1)),
        float(features.get("failures", 0)),
        math.sin(angle),
        math.cos(angle),
    ]


def session_vector(session: Session) -> list[float]:
    features = current_features(session)
    return vector(features, fallback_hour=session.created_at.hour)


def current_features(session: Session) -> dict:
    """This process's live counters when it holds the session, else the last write."""
    from sessions_mgr.fastpath import get_view

    entry = get_view().live.get(session.pk)
    return live_features(entry, time.time()) if entry is not None else dict(session.features)


def _history(exclude: str | None = None) -> list[list[float]]:
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    rows = Session.objects.filter(created_at__gte=since).exclude(features={})
    if exclude:
        rows = rows.exclude(pk=exclude)
    return [
        vector(f, fallback_hour=c.hour)
        for f, c in rows.order_by("-created_at").values_list("features", "created_at")[:HISTORY_MAX]
    ]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_z(x: list[float], history: list[list[float]]) -> dict[str, float]:
    z = {}
    for i, name in enumerate(FEATURES):
        if len(history) >= MIN_BASELINE:
            column = [row[i] for row in history]
            median = _median(column)
            mad = _median([abs(v - median) for v in column])
            # A MAD of 0 (most sessions identical) would make any change infinite: floor
            # the scale at the prior's.
            scale = max(1.4826 * mad, PRIORS[name][1])
        else:
            median, scale = PRIORS[name]
        z[name] = abs(x[i] - median) / scale
    return z


def robust_score(z: dict[str, float]) -> float:
    return 1.0 / (1.0 + math.exp(-(max(z.values()) - 5.0)))


def latest_model():
    """(version, compiled forest) of the current tenant's champion, or None (no model
    yet, or one that cannot be loaded: scoring falls back to the robust score)."""
    try:
        loaded = loader.load(MODEL)
    except AIError as exc:
        if exc.code not in ("unknown_model", "unknown_alias"):
            log.error("anomaly_model_unreadable", extra={"error": str(exc), "code": exc.code})
        return None
    return loaded.number, loaded.scorer


class Baseline:
    """The tenant's history and model, loaded once for scoring many sessions."""

    def __init__(self):
        self.history = _history()
        self.model = latest_model()


def analyse(session: Session, baseline: Baseline | None = None) -> dict:
    x = session_vector(session)
    if baseline is None:
        history, model = _history(exclude=session.pk), latest_model()
    else:  # a batch: the session itself is one of ~thousands in the baseline
        history, model = baseline.history, baseline.model
    z = robust_z(x, history)
    if model is not None:
        version, estimator = model
        score = float(min(max(-estimator.score_one(x), 0.0), 1.0))
        model_version = f"isolation-forest-v{version}"
    else:
        score, model_version = robust_score(z), ROBUST
    drivers = sorted(z.items(), key=lambda kv: kv[1], reverse=True)[:3]
    return {
        "session_id": session.pk,
        "anomaly_score": round(score, 4),
        "model_version": model_version,
        "features": dict(zip(FEATURES, (round(v, 4) for v in x), strict=True)),
        "drivers": [{"feature": name, "robust_z": round(value, 2)} for name, value in drivers],
    }


def training_rows() -> dict:
    """The tenant's recent sessions as training rows (the registry's data source)."""
    return {"features": FEATURES, "rows": _history()}


def do_train_anomaly_model() -> dict | None:
    """Train the current tenant's IsolationForest on its own history through the AI
    registry: a new version each time, promoted champion. None (and the robust score
    stays) under MIN_TRAIN sessions."""
    data = training_rows()
    if len(data["rows"]) < MIN_TRAIN:
        return None
    return training.train_now(
        model_type=KIND, model_name=MODEL, training_data=data, promote="champion",
        source=SOURCE, actor="sessions analytics",
    )  # fmt: skip


def session_analytics(session: Session) -> dict:
    """Read only (the API's GET, the facade, the admin): the score computed now, with
    its drivers, and `risk_score`, the score of the last evaluation, which is what the
    policy acted on. Evaluation (storing the score, acting on it) is
    `do_evaluate_session`, run by the tasks."""
    result = analyse(session)
    result["risk_score"] = round(session.risk_score, 4)
    return result


def _anomaly_details(session: Session, score: float, action: str, result) -> dict:
    severity = "high" if action == "revoke" else "medium" if action == "step_up" else "low"
    return {
        "severity": severity,
        "session": str(session.pk),
        "user_id": session.user_id,
        "score": round(score, 4),
        "drivers": result["drivers"],
        "model_version": result["model_version"],
        "action_taken": action,
    }


def do_evaluate_session(session: Session, baseline: Baseline | None = None) -> dict:
    """Score a session, store the score, and act when it crosses the tenant's threshold:
    record a security event, then revoke or demand step-up as the policy says. One
    transaction holding the session's row; threat detection hears of a crossing
    (`tenancy.hooks.session_anomaly`) once it committed, and records the anomaly's one
    SecurityEvent (audit_mgr) with its audit entry."""
    from sessions_mgr.actions import do_require_step_up, do_revoke_session
    from sessions_mgr.policy import ANOMALY_REVOKE, ANOMALY_STEP_UP, policy_for

    result = analyse(session, baseline)  # the history query stays outside the lock
    result["action"] = None
    score = result["anomaly_score"]
    with tenant_db.atomic():
        locked = Session.objects.select_for_update().filter(pk=session.pk).first()
        if locked is None:  # deleted meanwhile
            return result
        pol = policy_for(locked.security_level, locked.tenant_id)
        crossed = score >= pol.anomaly_threshold and locked.risk_score < pol.anomaly_threshold
        locked.risk_score = session.risk_score = score
        locked.save(update_fields=["risk_score"])
        if not crossed or locked.revoked_at is not None:
            return result
        if pol.anomaly_action == ANOMALY_REVOKE:
            do_revoke_session(locked.pk, reason="anomaly")
        elif pol.anomaly_action == ANOMALY_STEP_UP:
            do_require_step_up(locked.pk)
        result["action"] = pol.anomaly_action
        username = locked.user.get_username() if locked.user_id else ""
        details = _anomaly_details(locked, score, pol.anomaly_action, result)
        ip, tenant = locked.ip or "", get_current_tenant()

        def report() -> None:  # the commit may come after the caller left the tenant
            with tenant_context(tenant):
                hooks.session_anomaly.call(username, ip, details)

        tenant_db.on_commit(None, report, robust=True)
    return result
