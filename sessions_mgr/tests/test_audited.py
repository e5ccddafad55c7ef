"""Sessions created and ended are entries of the tenant's audit log (issue: the audit
log records every security-relevant event of every manager)."""

import json

import pytest

import audit_mgr as audit
from audit_mgr.models import AuditEntry, PendingAuditEntry
from sessions_mgr import actions
from sessions_mgr.models import Session
from tenancy.context import tenant_context
from tests.markers import postgres_only

pytestmark = pytest.mark.django_db


def events(tenant):
    with tenant_context(tenant):
        audit.sequence_pending(audit.tenant_log(tenant.pk))
        return [(e.event, json.loads(e.data)["payload"]) for e in AuditEntry.objects.all()]


def test_session_created_is_audited_with_the_session(
    make_session, tenant_alpha, tenant_beta, alpha_owner
):
    session, _token = make_session()
    created = [p for e, p in events(tenant_alpha) if e == "session.created"]
    assert created == [
        {
            "session": session.pk,
            "user_id": alpha_owner.pk,
            "level": "standard",
            "type": "user",
            "ip": "",
            "step_up_required": False,
        }
    ]
    assert not [e for e, _p in events(tenant_beta) if e.startswith("session")]
    with tenant_context(tenant_alpha):
        assert audit.verify_log(audit.tenant_log(tenant_alpha.pk)).ok


def test_session_refused_at_the_limit_leaves_no_entry(make_session, tenant_alpha):
    with tenant_context(tenant_alpha):
        actions.do_set_session_policy("standard", {"max_sessions": 1, "on_limit": "deny"})
    make_session()
    with pytest.raises(actions.SessionError):
        make_session()
    assert [e for e, _p in events(tenant_alpha)].count("session.created") == 1


@postgres_only("the one-statement fast path")
def test_session_and_its_entry_are_one_statement(make_session, tenant_alpha):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_session()  # warm: keys, policy
    with CaptureQueriesContext(connection) as captured:
        make_session()
    # One statement writes (the session and its entry); the others only SET LOCAL the
    # planner option, sent with it in one pipeline.
    writes = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET LOCAL")]
    assert len(writes) == 1, captured.captured_queries
    assert "INSERT INTO sessions_mgr_session" in writes[0]
    assert "pendingauditentry" in writes[0]
    with tenant_context(tenant_alpha):
        assert PendingAuditEntry.objects.filter(event="session.created").count() == 2


def test_sessions_ended_are_audited(make_session, tenant_alpha, alpha_owner):
    one, _ = make_session()
    two, _ = make_session()
    three, _ = make_session()
    with tenant_context(tenant_alpha):
        actions.do_revoke_session(one.pk, reason="logout")
        actions.do_revoke_user_sessions(alpha_owner.pk)
        actions.do_revoke_tenant_sessions()
    ended = [(p["session"], p["reason"]) for e, p in events(tenant_alpha) if e == "session.ended"]
    assert ended[0] == (one.pk, "logout")
    assert sorted(ended[1:]) == sorted(
        [(two.pk, "sign_out_everywhere"), (three.pk, "sign_out_everywhere")]
    )
    assert [p for e, p in events(tenant_alpha) if e == "sessions.ended_all"] == [
        {"sessions": 0, "reason": "tenant_sign_out"}
    ]


def test_purge_is_audited(make_session, tenant_alpha):
    session, _ = make_session()
    with tenant_context(tenant_alpha):
        Session.objects.filter(pk=session.pk).update(revoked_at="2000-01-01T00:00:00Z")
        assert actions.do_purge_expired_sessions() == 1
        assert actions.do_purge_expired_sessions() == 0  # nothing purged: no entry
    assert [p["sessions"] for e, p in events(tenant_alpha) if e == "sessions.purged"] == [1]
