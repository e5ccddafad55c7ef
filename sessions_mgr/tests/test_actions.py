import time

import pytest
from django.db import transaction
from django.utils import timezone

from audit_mgr.models import SecurityEvent
from sessions_mgr import validation
from sessions_mgr.actions import (
    SessionError,
    do_purge_expired_sessions,
    do_refresh_session,
    do_revoke_session,
    do_revoke_tenant_sessions,
    do_revoke_user_sessions,
    do_set_session_policy,
)
from sessions_mgr.models import Session
from sessions_mgr.selectors import sessions_of_tenant, sessions_of_user
from sessions_mgr.tasks import purge_expired_sessions_task
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy.context import platform_access, tenant_context
from tenancy.exceptions import TenantContextMissing
from tests.markers import postgres_only
from tests.personas import audit_entries

pytestmark = pytest.mark.django_db


def _reason(token, **kwargs) -> str:
    with pytest.raises(TokenError) as exc:
        validate(token, **kwargs)
    return exc.value.reason


def test_create_session_returns_valid_token(make_session, alpha_owner, tenant_alpha, view):
    session, token = make_session(session_type="admin", security_level="high")
    checked = validate(token, tenant_id=tenant_alpha.pk)
    assert (checked.session_id, checked.user_id, checked.tenant_id) == (
        session.pk,
        alpha_owner.pk,
        tenant_alpha.pk,
    )
    assert checked.level == "high" and checked.session_type == "admin"
    assert session.absolute_expires_at - session.created_at == timezone.timedelta(hours=8)


def test_create_session_invalid_level_is_400(make_session):
    with pytest.raises(SessionError) as exc:
        make_session(security_level="ultra")
    assert exc.value.status == 400


def test_validate_fast_path_needs_no_query(make_session, view, django_assert_num_queries):
    _s, token = make_session()
    validate(token)  # first sight in this process: loads the session once
    with django_assert_num_queries(0):
        for _ in range(5):
            validate(token)
    assert view.counters.fast_validations == 6


def test_refresh_session_kills_old_token(make_session, tenant_alpha, view):
    session, old = make_session()
    validate(old)
    with tenant_context(tenant_alpha):
        _s, new = do_refresh_session(session.pk)
    assert _reason(old) == "revoked"
    assert validate(new).session_id == session.pk


def test_revoke_session_refused_at_once(make_session, tenant_alpha, view):
    session, token = make_session()
    validate(token)
    with tenant_context(tenant_alpha):
        assert do_revoke_session(session.pk) is True
        assert do_revoke_session(session.pk) is False
    assert _reason(token) == "revoked"


def test_revoke_user_sessions_only_that_user(
    make_session, tenant_alpha, alpha_owner, alpha_viewer, view
):
    tokens_a = [make_session(user=alpha_owner)[1] for _ in range(3)]
    _s, other = make_session(user=alpha_viewer)
    with tenant_context(tenant_alpha):
        assert do_revoke_user_sessions(alpha_owner.pk) == 3
    assert {_reason(t) for t in tokens_a} == {"revoked"}
    validate(other)


def test_revoke_tenant_sessions_spares_other_tenant_and_new_sessions(
    make_session, tenant_alpha, tenant_beta, beta_owner, view
):
    _s, a_token = make_session()
    _s, b_token = make_session(tenant=tenant_beta, user=beta_owner)
    with tenant_context(tenant_alpha):
        assert do_revoke_tenant_sessions() == 1
    assert _reason(a_token) == "revoked"
    validate(b_token)
    _s, fresh = make_session()
    validate(fresh)


def test_revoke_tenant_sessions_seen_after_resync(make_session, tenant_alpha, view):
    """Another process's tenant-wide revocation, message missed: the resync catches it."""
    _s, token = make_session()
    validate(token)
    with tenant_context(tenant_alpha):
        do_revoke_tenant_sessions()
    view.tenant_cutoff.clear()
    view.revoked.clear()
    view.resync()
    assert _reason(token) == "revoked"


def test_list_sessions_per_user_and_tenant(make_session, tenant_alpha, alpha_owner, alpha_viewer):
    make_session(user=alpha_owner)
    make_session(user=alpha_owner)
    make_session(user=alpha_viewer)
    with tenant_context(tenant_alpha):
        assert sessions_of_user(alpha_owner.pk).count() == 2
        assert sessions_of_tenant().count() == 3


def test_concurrency_limit_ends_oldest(make_session, tenant_alpha, view):
    with tenant_context(tenant_alpha):
        do_set_session_policy("standard", {"max_sessions": 2})
    first, first_token = make_session()
    make_session()
    make_session()
    assert _reason(first_token) == "revoked"
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=first.pk).revoke_reason == "concurrency_limit"
        assert sessions_of_tenant().count() == 2


def test_concurrency_limit_denies_at_critical(make_session, tenant_alpha, alpha_owner_mfa):
    for _ in range(3):
        make_session(security_level="critical")
    with pytest.raises(SessionError) as exc:
        make_session(security_level="critical")
    assert (exc.value.status, exc.value.code) == (409, "session_limit")


def test_policy_override_from_tenant_setting(make_session, tenant_alpha, tenant_beta, beta_owner):
    with tenant_context(tenant_alpha):
        do_set_session_policy("standard", {"idle_seconds": 60, "absolute_seconds": 600})
    a, _ = make_session()
    b, _ = make_session(tenant=tenant_beta, user=beta_owner)
    assert (a.absolute_expires_at - a.created_at).total_seconds() == 600
    assert (b.absolute_expires_at - b.created_at).total_seconds() == 12 * 3600


def test_policy_override_bad_values_ignored():
    from sessions_mgr.policy import DEFAULTS, apply_overrides

    base = DEFAULTS["standard"]
    odd = apply_overrides(base, {"idle_seconds": -5, "binding": "psychic", "nope": 1, "level": "x"})
    assert odd == base
    assert apply_overrides(base, "not a dict") == base


def test_validate_absolute_expiry(make_session, view, monkeypatch):
    _s, token = make_session()
    later = time.time() + 13 * 3600
    monkeypatch.setattr(validation.time, "time", lambda: later)
    assert _reason(token) == "expired"


def test_validate_idle_expiry(make_session, view, monkeypatch):
    _s, token = make_session()
    validate(token)
    later = time.time() + 31 * 60
    monkeypatch.setattr(validation.time, "time", lambda: later)
    assert _reason(token) == "expired"


def test_validate_idle_uses_other_process_last_seen(make_session, tenant_alpha, view, monkeypatch):
    session, token = make_session()
    validate(token)
    later = time.time() + 31 * 60
    with tenant_context(tenant_alpha):  # another process served the session recently
        Session.objects.filter(pk=session.pk).update(
            last_seen_at=timezone.now() + timezone.timedelta(minutes=30)
        )
    monkeypatch.setattr(validation.time, "time", lambda: later)
    assert validate(token).session_id == session.pk  # idle here, not idle there


def test_validate_binding_high_network(make_session, view):
    _s, token = make_session(security_level="high", ip="10.1.2.3", user_agent="UA/1")
    validate(token, ip="10.1.2.99", user_agent="UA/1")
    assert _reason(token, ip="10.1.3.3", user_agent="UA/1") == "binding_mismatch"
    assert _reason(token, ip="10.1.2.3", user_agent="UA/2") == "binding_mismatch"


def test_validate_binding_critical_exact(make_session, view, alpha_owner_mfa):
    _s, token = make_session(
        security_level="critical",
        ip="10.1.2.3",
        user_agent="UA/1",
        mfa_code=alpha_owner_mfa.backup(),
    )
    validate(token, ip="10.1.2.3", user_agent="UA/1")
    assert _reason(token, ip="10.1.2.4", user_agent="UA/1") == "binding_mismatch"


def test_validate_wrong_tenant_refused_and_reported(make_session, tenant_alpha, tenant_beta, view):
    session, token = make_session()
    assert _reason(token, tenant_id=tenant_beta.pk) == "wrong_tenant"
    with tenant_context(tenant_alpha):
        event = SecurityEvent.objects.get(type="wrong_tenant")
        assert [e.event for e in audit_entries(tenant_alpha, "security.wrong_tenant")] == [
            "security.wrong_tenant"
        ]
    assert (event.session_id_ref, event.severity) == (session.pk, "high")
    assert event.details["presented_for_tenant"] == tenant_beta.pk
    with tenant_context(tenant_beta):  # where it was presented: nothing
        assert not SecurityEvent.objects.exists()


def test_validate_degraded_reads_database(make_session, tenant_alpha, degraded_view, caplog):
    """No live feed (Redis down): a revocation made elsewhere, whose message this process
    never got, is still refused, from the database."""
    session, token = make_session()
    validate(token)
    with tenant_context(tenant_alpha):
        Session.objects.filter(pk=session.pk).update(revoked_at=timezone.now())
    assert _reason(token) == "revoked"
    assert degraded_view.counters.db_validations >= 1
    assert any(r.message == "session_validation_degraded" for r in caplog.records)


def test_validate_missed_message_caught_by_resync(make_session, tenant_alpha, view):
    session, token = make_session()
    validate(token)
    with tenant_context(tenant_alpha):
        Session.objects.filter(pk=session.pk).update(revoked_at=timezone.now())
    validate(token)  # the fast path did not hear about it (message lost) ...
    view.resync()  # ... until the periodic resync
    assert _reason(token) == "revoked"


def test_validate_last_seen_written_at_most_once_per_interval(
    make_session, tenant_alpha, view, settings, monkeypatch
):
    settings.SESSION_LAST_SEEN_WRITE_SECONDS = 60
    session, token = make_session()
    start = time.time()
    now = [start]
    monkeypatch.setattr(validation.time, "time", lambda: now[0])
    writes = []
    original = validation._touch

    def spy(parsed, entry, at, ip, ua):
        before = entry.last_written
        original(parsed, entry, at, ip, ua)
        if entry.last_written != before:
            writes.append(at)

    monkeypatch.setattr(validation, "_touch", spy)
    for step in range(0, 130, 10):  # 13 validations over 120 s
        now[0] = start + step
        validate(token)
    assert len(writes) == 2
    with tenant_context(tenant_alpha):
        row = Session.objects.get(pk=session.pk)
    assert row.last_seen_at.timestamp() == pytest.approx(writes[-1], abs=1e-3)
    assert row.features["requests"] >= 1


def test_validate_inactive_user_refused(make_session, alpha_owner, view):
    _s, token = make_session()
    alpha_owner.is_active = False
    alpha_owner.save(update_fields=["is_active"])
    assert _reason(token) == "user_inactive"


def test_purge_expired_sessions(make_session, tenant_alpha, tenant_beta, beta_owner):
    old, _ = make_session()
    kept, _ = make_session()
    other, _ = make_session(tenant=tenant_beta, user=beta_owner)
    long_ago = timezone.now() - timezone.timedelta(days=30)
    with tenant_context(tenant_alpha):
        Session.objects.filter(pk=old.pk).update(absolute_expires_at=long_ago)
    with tenant_context(tenant_beta):
        Session.objects.filter(pk=other.pk).update(absolute_expires_at=long_ago)
    with tenant_context(tenant_alpha):
        assert purge_expired_sessions_task.delay().get() == 1
        assert list(Session.objects.values_list("pk", flat=True)) == [kept.pk]
        assert do_purge_expired_sessions() == 0
    with tenant_context(tenant_beta):
        assert Session.objects.filter(pk=other.pk).exists()


def test_deleting_user_deletes_sessions(make_session, alpha_owner, tenant_alpha, view):
    _s, token = make_session()
    # Deleting a user reaches rows in every tenant (sessions, MFA devices): a platform
    # operation, as in the superuser console. Outside it, the cascade fails closed.
    with pytest.raises(TenantContextMissing), transaction.atomic():
        alpha_owner.delete()
    with platform_access("test: delete a user everywhere"):
        alpha_owner.delete()
    with tenant_context(tenant_alpha):
        assert not Session.objects.exists()
    assert _reason(token) == "revoked"


@postgres_only("the one-statement creation path is PostgreSQL SQL")
def test_create_session_one_statement_autocommit_variant(make_session, tenant_alpha, monkeypatch):
    from sessions_mgr import statements

    # The test runs inside a transaction; run the autocommit variant of the statement.
    variant = statements._variant
    monkeypatch.setattr(statements, "_variant", lambda autocommit: variant(True))
    assert "synchronous_commit" in statements._variant(False).sql
    session, token = make_session(ip="10.0.0.1")
    with tenant_context(tenant_alpha):
        row = Session.objects.get(pk=session.pk)
    assert row.ip == "10.0.0.1" and row.features == {} and row.token_hash
    validate(token)


def test_readme_policy_table_matches_defaults():
    from pathlib import Path

    from sessions_mgr.policy import policy_table

    page = (Path(__file__).resolve().parents[2] / "docs" / "sessions.md").read_text()
    assert policy_table() in page


def test_validate_checks_stored_hash_on_first_load(make_session, tenant_alpha, view):
    session, token = make_session()
    with tenant_context(tenant_alpha):
        Session.objects.filter(pk=session.pk).update(token_hash="0" * 64)
    assert _reason(token) == "revoked"


def test_beat_schedule_names_registered_tasks():
    import importlib
    import importlib.util

    from celery import current_app
    from django.apps import apps
    from django.conf import settings

    # What the worker's autodiscovery imports: every installed app's tasks module (not
    # only this app's, or the test passes or fails with the order tests ran in).
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.tasks") is not None:
            importlib.import_module(f"{config.name}.tasks")

    for entry in settings.PERIODIC_TASKS.values():
        assert entry["task"] in current_app.tasks
        for name in entry.get("args", ()):
            assert name in current_app.tasks, name


def test_evaluate_active_sessions_task_scores_live_sessions(make_session, tenant_alpha):
    from sessions_mgr.tasks import evaluate_active_sessions_task

    make_session()
    make_session()
    with tenant_context(tenant_alpha):
        assert evaluate_active_sessions_task.delay().get() == 2
