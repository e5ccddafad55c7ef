"""The audit API's GETs never write: an entry still pending stays pending through the
entries list, both proofs and verification (each reports it as pending), and every
table of the log is unchanged; the sequencer, not a reader, numbers it."""

import pytest

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr.models import (
    AuditEntry,
    AuditLogHead,
    AuditNode,
    PendingAuditEntry,
    SecurityEvent,
    SignedTreeHead,
)
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/security"


def _log_state(tenant) -> dict:
    """Every row of the tenant's log and events, as the database holds them."""
    with tenant_context(tenant):
        return {
            model.__name__: sorted(map(repr, model.objects.values_list()))
            for model in (
                PendingAuditEntry,
                AuditEntry,
                AuditNode,
                AuditLogHead,
                SignedTreeHead,
                SecurityEvent,
            )
        }


def test_audit_api_gets_leave_a_pending_entry_pending_and_report_it(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    with tenant_context(tenant_alpha):
        audit.sequence_pending(audit.tenant_log())  # the sign-in (auth.login), seq 0
        # Appended in a transaction that has not committed yet (the test's own).
        audit_actions.record_event("export.created", {"rows": 3}, actor="alice")
        audit_actions.record_security_event("brute_force", "high", actor="mallory")
    before = _log_state(tenant_alpha)
    assert len(before["PendingAuditEntry"]) == 2

    listed = api.get(f"{BASE}/audit/entries/").json()
    assert [(e["seq"], e["event"]) for e in listed["results"]] == [(0, "auth.login")]
    assert listed["pending"]["count"] == 2
    proof = api.get(f"{BASE}/audit/proofs/inclusion/", {"index": 0})
    assert proof.status_code == 200 and proof.json()["tree_size"] == 1
    beyond = api.get(f"{BASE}/audit/proofs/inclusion/", {"index": 1})
    assert (
        beyond.status_code == 400 and "2 entries are pending" in beyond.json()["error"]["message"]
    )
    consistency = api.get(f"{BASE}/audit/proofs/consistency/", {"first": 1})
    assert consistency.status_code == 200 and consistency.json()["second"] == 1
    report = api.get(f"{BASE}/audit/verify/").json()
    assert report["ok"] and report["entries"] == 1
    assert report["pending_before"]["count"] == 2 and report["pending_before"]["left_pending"]
    assert api.get(f"{BASE}/events/").json()["count"] == 1
    assert _log_state(tenant_alpha) == before

    with tenant_context(tenant_alpha):
        assert audit.sequence_pending(audit.tenant_log()) == 2  # what the sequencer task runs
    listed = api.get(f"{BASE}/audit/entries/").json()
    assert [e["event"] for e in listed["results"]] == [
        "auth.login",
        "export.created",
        "security.brute_force",
    ]
    assert listed["pending"]["count"] == 0
    assert api.get(f"{BASE}/audit/proofs/inclusion/", {"index": 2}).json()["tree_size"] == 3
