"""A SecurityEvent and its audit entry are written together: in one statement outside
a caller's transaction on PostgreSQL (commit not waiting for the WAL flush), through
the ORM inside one (the caller's commit keeps its durability)."""

import json

import pytest
from django.db import connection, transaction

import audit_mgr as audit
from audit_mgr.event_store import record_security_event
from audit_mgr.models import AuditEntry, PendingAuditEntry, SecurityEvent
from tenancy.context import tenant_context
from tests.celery_worker import tasks_to_memory_broker
from tests.committed import POSTGRES, committed_tenant, needs_owner
from tests.markers import postgres_only

EVENT = dict(
    actor="mallory",
    source="192.0.2.7",
    details={"failures_ip": 21},
    action="temporary_block",
)


@postgres_only("the one-statement path")
@needs_owner
def test_record_security_event_outside_a_transaction_is_one_statement(
    django_db_setup, django_db_blocker, django_assert_num_queries
):
    with committed_tenant(django_db_blocker, "event-store") as tenant, tenant_context(tenant):
        with tasks_to_memory_broker(), django_assert_num_queries(1) as queries:
            record_security_event("brute_force", "high", **EVENT)
        assert "synchronous_commit" in queries.captured_queries[0]["sql"]
        event = SecurityEvent.objects.get()
        assert (event.type, event.severity, event.actor, event.source, event.action) == (
            "brute_force",
            "high",
            "mallory",
            "192.0.2.7",
            "temporary_block",
        )
        assert event.details == {"failures_ip": 21}
        pending = PendingAuditEntry.objects.get()
        assert pending.event == "security.brute_force" and pending.actor == "mallory"
        assert json.loads(pending.payload) == {
            "severity": "high",
            "source": "192.0.2.7",
            "action": "temporary_block",
            "failures_ip": 21,
        }
        audit.sequence_pending(audit.tenant_log())
        assert AuditEntry.objects.get().event == "security.brute_force"
        assert audit.verify_log(audit.tenant_log()).ok


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_pair_commits_or_rolls_back_with_it(tenant_alpha):
    with tenant_context(tenant_alpha):
        with transaction.atomic():
            record_security_event("brute_force", "high", **EVENT)
            if POSTGRES:
                with connection.cursor() as cursor:
                    cursor.execute("SHOW synchronous_commit")
                    assert cursor.fetchone()[0] == "on"  # the caller's commit stays durable
            assert SecurityEvent.objects.count() == 1
            assert PendingAuditEntry.objects.filter(event="security.brute_force").count() == 1
            transaction.set_rollback(True)
        assert not SecurityEvent.objects.exists()
        assert not PendingAuditEntry.objects.exists()
