"""Sequencing modes: `deferred` (default) leaves the numbering to a worker asked once a
second per log and process; `commit` numbers in the committing process. Both with a real
Celery worker thread (in-memory transport) and really committed rows."""

import time

import pytest
from celery.signals import after_task_publish, before_task_publish
from django.core import checks
from django.db import transaction

import audit_mgr as audit
from audit_mgr import sequencer
from audit_mgr.models import AuditEntry, PendingAuditEntry
from tenancy.context import tenant_context
from tests.celery_worker import tasks_to_memory_broker
from tests.committed import committed_pending, committed_tenant, needs_owner


@pytest.fixture
def published(monkeypatch):
    """Names of the tasks sent to the broker (Celery's own signal)."""
    names = []

    def record(sender=None, **kwargs):
        names.append(sender)

    monkeypatch.setattr(sequencer, "_asked", {})
    after_task_publish.connect(record, weak=False)
    yield names
    after_task_publish.disconnect(record)


def _wait_until_sequenced(count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if AuditEntry.objects.count() == count and not PendingAuditEntry.objects.exists():
            return True
        time.sleep(0.05)
    return False


@needs_owner
def test_deferred_appends_are_numbered_by_one_worker_task(
    django_db_setup, django_db_blocker, real_worker, published, monkeypatch, settings
):
    settings.SECURITY_AUDIT_SEQUENCING = "deferred"
    # Long enough that the assertions on the queue run before the worker does.
    monkeypatch.setattr(sequencer, "SOON_SECONDS", 3.0)
    with committed_tenant(django_db_blocker, "audit-deferred") as tenant:
        published.clear()  # the tenant's creation (its key ring) is in the platform log
        with tenant_context(tenant):
            for i in range(3):
                with transaction.atomic():
                    audit.append("test.deferred", {"i": i})
            # The audited transactions only queued their entries...
            assert PendingAuditEntry.objects.count() == 3
            assert not AuditEntry.objects.exists()
            # ...and asked for one sequencing task between them, not one each.
            assert published == ["audit_mgr.tasks.sequence_pending_audit_task"]
            assert _wait_until_sequenced(3), "the worker never sequenced the entries"
            assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == [
                0,
                1,
                2,
            ]
            assert audit.verify_log(audit.tenant_log()).ok


@needs_owner
def test_commit_mode_numbers_before_the_action_returns(
    django_db_setup, django_db_blocker, real_worker, published, settings
):
    settings.SECURITY_AUDIT_SEQUENCING = "commit"
    with committed_tenant(django_db_blocker, "audit-commit-mode") as tenant:
        with tenant_context(tenant):
            with transaction.atomic():
                audit.append("test.commit_mode")
            assert list(AuditEntry.objects.values_list("seq", "event")) == [(0, "test.commit_mode")]
            assert not PendingAuditEntry.objects.exists()
            assert published == []  # nothing was left to a worker


@needs_owner
def test_sequence_soon_asks_once_a_second_whatever_the_mode(
    django_db_setup, django_db_blocker, real_worker, published, settings
):
    settings.SECURITY_AUDIT_SEQUENCING = "commit"
    with committed_tenant(django_db_blocker, "audit-soon") as tenant:
        with tenant_context(tenant):
            log = audit.tenant_log()
            for _ in range(3):
                audit.sequence_soon(log)
            assert published == ["audit_mgr.tasks.sequence_pending_audit_task"]


def test_an_unknown_sequencing_mode_fails_the_system_check(settings):
    settings.SECURITY_AUDIT_SEQUENCING = "later"
    errors = [e for e in checks.run_checks() if e.id == "audit_mgr.E001"]
    assert errors and "'later'" in errors[0].msg


@needs_owner
def test_deferred_append_outside_a_transaction_is_one_committed_insert(
    django_db_setup, django_db_blocker, settings, django_assert_num_queries, published
):
    settings.SECURITY_AUDIT_SEQUENCING = "deferred"
    with committed_tenant(django_db_blocker, "audit-autocommit") as tenant, tenant_context(tenant):
        audit.append("test.warm")  # eager: the head row exists, nothing pending
        sequencer._asked.clear()
        with tasks_to_memory_broker(), django_assert_num_queries(1) as queries:
            pending = audit.append("test.event", {"i": 1}, actor="al")
            assert published == ["audit_mgr.tasks.sequence_pending_audit_task"]
        assert isinstance(pending, PendingAuditEntry)
        assert queries.captured_queries[0]["sql"].startswith("INSERT INTO")
        # Committed on its own: another connection (the owner's) sees it.
        assert committed_pending(tenant) == [pending.pk]
        assert audit.entry_of(pending).seq == 1


@needs_owner
def test_a_broker_that_is_down_is_asked_once_a_second_not_at_every_commit(
    django_db_setup, django_db_blocker, settings, caplog
):
    settings.SECURITY_AUDIT_SEQUENCING = "deferred"
    attempts = []

    def count(sender=None, **kwargs):
        attempts.append(sender)

    with committed_tenant(django_db_blocker, "audit-broker-down") as tenant, tenant_context(tenant):
        with tasks_to_memory_broker() as app:
            app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens on port 9
            before_task_publish.connect(count, weak=False)
            try:
                for i in range(3):
                    with transaction.atomic():
                        audit.append("test.no_broker", {"i": i})
            finally:
                before_task_publish.disconnect(count)
        assert attempts == ["audit_mgr.tasks.sequence_pending_audit_task"]
        assert "audit_sequence_soon_failed" in caplog.text
        # The audited actions committed; their entries wait for the sweep or a reader.
        assert PendingAuditEntry.objects.count() == 3
        assert audit.sequence_pending(audit.tenant_log()) == 3


@pytest.mark.django_db
def test_the_beat_sweep_reaches_tenants_in_every_state(tenant_alpha, tenant_beta):
    from audit_mgr.tasks import sweep_pending_audit_task
    from tenancy.models import TenantState

    tenant_beta.state = TenantState.SUSPENDED
    tenant_beta.save(update_fields=["state"])
    with tenant_context(tenant_beta):
        with transaction.atomic(), tasks_to_memory_broker():
            audit.append("test.before_suspension")  # its worker task is lost
        assert PendingAuditEntry.objects.count() == 1
    assert sweep_pending_audit_task.delay().get() >= 2
    with tenant_context(tenant_beta):
        assert not PendingAuditEntry.objects.exists()
        assert AuditEntry.objects.get().event == "test.before_suspension"
