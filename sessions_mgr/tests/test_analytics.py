import random

import pytest
from django.utils import timezone

from ai_mgr.models import MLModel
from audit_mgr.models import SecurityEvent
from sessions_mgr import analytics
from sessions_mgr.actions import do_set_session_policy
from sessions_mgr.models import Session
from sessions_mgr.tasks import evaluate_session_task, train_anomaly_model_task
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy.context import tenant_context
from tests.personas import audit_entries

pytestmark = pytest.mark.django_db

ORDINARY = {"rate_per_min": 2.0, "ips": 1, "agents": 1, "networks": 1, "failures": 0, "hour": 10}
WILD = {"rate_per_min": 400.0, "ips": 30, "agents": 9, "networks": 12, "failures": 25, "hour": 3}


def _history(tenant, user, n, seed=1):
    rng = random.Random(seed)
    now = timezone.now()
    rows = [
        Session(
            user_id=user.pk,
            created_at=now,
            last_seen_at=now,
            idle_expires_at=now,
            absolute_expires_at=now + timezone.timedelta(hours=1),
            revoked_at=now,  # history: not live sessions
            features={
                "rate_per_min": rng.uniform(1, 4),
                "ips": rng.choice([1, 1, 1, 2]),
                "agents": 1,
                "networks": 1,
                "failures": rng.choice([0, 0, 0, 1]),
                "hour": rng.randrange(8, 18),
            },
        )
        for _ in range(n)
    ]
    with tenant_context(tenant):
        Session.objects.bulk_create(rows)


def _with_features(make_session, tenant, features, **kwargs):
    session, token = make_session(**kwargs)
    with tenant_context(tenant):
        Session.objects.filter(pk=session.pk).update(features=features)
        return Session.objects.get(pk=session.pk), token


def test_analytics_robust_score_ordinary_vs_wild(make_session, tenant_alpha, alpha_owner):
    _history(tenant_alpha, alpha_owner, 50)
    calm, _ = _with_features(make_session, tenant_alpha, ORDINARY)
    wild, _ = _with_features(make_session, tenant_alpha, WILD)
    with tenant_context(tenant_alpha):
        a, b = analytics.analyse(calm), analytics.analyse(wild)
    assert a["model_version"] == analytics.ROBUST
    assert 0 <= a["anomaly_score"] < 0.2 < 0.9 < b["anomaly_score"] <= 1
    assert b["drivers"][0]["feature"] in {"rate_per_min", "ips", "failures", "networks"}


def test_analytics_robust_score_without_history_uses_priors(make_session, tenant_alpha):
    calm, _ = _with_features(make_session, tenant_alpha, ORDINARY)
    with tenant_context(tenant_alpha):
        assert analytics.analyse(calm)["anomaly_score"] < 0.2


def test_analytics_model_trained_per_tenant_and_versioned(
    make_session, tenant_alpha, tenant_beta, alpha_owner
):
    _history(tenant_alpha, alpha_owner, analytics.MIN_TRAIN)
    with tenant_context(tenant_alpha):
        assert train_anomaly_model_task.delay().get() == 1
        assert train_anomaly_model_task.delay().get() == 2
    with tenant_context(tenant_beta):
        assert train_anomaly_model_task.delay().get() is None  # no history of its own
        assert not MLModel.objects.exists()
    calm, _ = _with_features(make_session, tenant_alpha, ORDINARY)
    wild, _ = _with_features(make_session, tenant_alpha, WILD)
    with tenant_context(tenant_alpha):
        a, b = analytics.analyse(calm), analytics.analyse(wild)
    assert a["model_version"] == b["model_version"] == "isolation-forest-v2"
    assert a["anomaly_score"] < b["anomaly_score"]
    assert 0 <= a["anomaly_score"] <= 1 and 0 <= b["anomaly_score"] <= 1


def test_analytics_threshold_revokes_critical(
    make_session,
    tenant_alpha,
    alpha_owner,
    view,
    alpha_owner_mfa,
    django_capture_on_commit_callbacks,
):
    _history(tenant_alpha, alpha_owner, 50)
    wild, token = _with_features(
        make_session,
        tenant_alpha,
        WILD,
        security_level="critical",
        mfa_code=alpha_owner_mfa.backup(),
    )
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
        assert evaluate_session_task.delay(wild.pk).get() > 0.7
    with tenant_context(tenant_alpha):
        # One event for the anomaly (not one per feature), naming the session, its
        # user and the score, with the action taken, and its audit entry.
        event = SecurityEvent.objects.get()
        assert (event.type, event.severity, event.action) == (
            "session_anomaly",
            "high",
            "revoke_sessions",
        )
        assert (event.session_id_ref, event.user_id_ref) == (wild.pk, wild.user_id)
        assert event.score > 0.7 and event.details["model_version"] == "robust-stats-v1"
        assert Session.objects.get(pk=wild.pk).revoke_reason == "anomaly"
        (entry,) = audit_entries(tenant_alpha, "security.session_anomaly")
    with pytest.raises(TokenError) as exc:
        validate(token)
    assert exc.value.reason == "revoked"


def test_analytics_threshold_step_up_high(
    make_session, tenant_alpha, alpha_owner, view, django_capture_on_commit_callbacks
):
    _history(tenant_alpha, alpha_owner, 50)
    wild, token = _with_features(make_session, tenant_alpha, WILD, security_level="high")
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
        result = analytics.do_evaluate_session(wild)
        # Threat detection records the anomaly's one event once the evaluation committed.
        assert not SecurityEvent.objects.exists()
    with tenant_context(tenant_alpha):
        threat = SecurityEvent.objects.get()
    assert result["action"] == "step_up"
    assert (threat.severity, threat.action) == ("medium", "step_up")
    with pytest.raises(TokenError) as exc:
        validate(token)
    assert exc.value.reason == "step_up_required"


def test_analytics_threshold_per_tenant_setting(make_session, tenant_alpha, alpha_owner):
    with tenant_context(tenant_alpha):
        do_set_session_policy("standard", {"anomaly_threshold": 0.99})
    _history(tenant_alpha, alpha_owner, 50)
    mild = {**ORDINARY, "rate_per_min": 20.0}
    session, _ = _with_features(make_session, tenant_alpha, mild)
    with tenant_context(tenant_alpha):
        result = analytics.do_evaluate_session(session)
        assert result["action"] is None
        assert not SecurityEvent.objects.exists()


def test_analytics_live_counters_feed_features(make_session, tenant_alpha, view):
    session, token = make_session()
    for i in range(5):
        validate(token, ip=f"10.{i}.0.1", user_agent="UA")
    with tenant_context(tenant_alpha):
        result = analytics.analyse(Session.objects.get(pk=session.pk))
    assert result["features"]["ips"] == 5 and result["features"]["networks"] == 5


def _counts(tenant):
    with tenant_context(tenant):
        return (
            SecurityEvent.objects.count(),
            len(audit_entries(tenant)),
            list(Session.objects.order_by("pk").values_list("risk_score", "revoked_at")),
        )


def test_analytics_get_reads_and_never_writes(make_session, tenant_alpha, alpha_owner, view):
    from tests.personas import api_as

    _history(tenant_alpha, alpha_owner, 50)
    wild, token = _with_features(make_session, tenant_alpha, WILD, security_level="high")
    client = api_as(alpha_owner, tenant_alpha)  # signing in is audited: before counting
    before = _counts(tenant_alpha)
    response = client.get(f"/api/v1/sessions/{wild.pk}/analytics/")
    assert response.status_code == 200, response.content
    body = response.json()
    # The score now is past the threshold, but a GET neither stores it nor acts on it.
    assert body["anomaly_score"] > 0.9 and body["risk_score"] == 0.0
    assert _counts(tenant_alpha) == before
    assert validate(token).session_id == wild.pk  # no step-up demanded


def test_analytics_evaluation_rolled_back_has_no_effects(
    make_session, tenant_alpha, alpha_owner, view, django_capture_on_commit_callbacks
):
    from django.db import transaction

    _history(tenant_alpha, alpha_owner, 50)
    wild, token = _with_features(make_session, tenant_alpha, WILD, security_level="high")
    before = _counts(tenant_alpha)
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            assert analytics.do_evaluate_session(wild)["action"] == "step_up"
            raise RuntimeError("the caller's transaction fails")
    # Threat detection never heard of it; the score and the events went with the rollback.
    assert _counts(tenant_alpha) == before
