"""The audit queue and its sequencer: appends commit (or roll back) with the audited
action, are numbered after the commit, readers that must be complete sequence first,
and proofs come from the stored subtree nodes."""

import datetime as dt
import io
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr import merkle
from audit_mgr.logs import micros
from audit_mgr.models import AuditEntry, AuditLogHead, AuditNode, PendingAuditEntry
from audit_mgr.tasks import sequence_pending_audit_task
from security_mgr.dashboard import dashboard_data
from tenancy.context import tenant_context
from tests.committed import (
    committed_tenant,
    delete_as_owner,
    needs_owner,
)
from tests.markers import postgres_only

TEXT = st.text(max_size=12)
FLOAT = st.floats(allow_nan=False, allow_infinity=False)
SCALAR = st.none() | st.booleans() | st.integers() | FLOAT
JSON = st.recursive(
    SCALAR | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@given(TEXT, TEXT, st.integers(0, 2**40), st.dictionaries(TEXT, JSON, max_size=4))
def test_data_from_parts_is_byte_for_byte_the_canonical_data(event, actor, micros, payload):
    log = audit.Log("tenant:7", 7, *[None] * 5)
    at = audit.EPOCH + dt.timedelta(microseconds=micros)
    expected = audit.canonical_data(log, 42, event, actor, at, payload)
    assert (
        audit.data_from_parts(log.label, 42, event, actor, micros, audit.canonical_payload(payload))
        == expected
    )


@pytest.mark.django_db
def test_an_append_waits_for_its_commit_then_is_sequenced(
    tenant_alpha, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_alpha):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                pending = [audit_actions.record_event("test.event", {"i": i}) for i in range(3)]
                assert all(isinstance(p, PendingAuditEntry) for p in pending)
                stored = PendingAuditEntry.objects.get(pk=pending[1].pk)
                assert (stored.tenant_id, stored.event, stored.payload, stored.at_us) == (
                    tenant_alpha.pk,
                    "test.event",
                    '{"i":1}',
                    pending[1].at_us,
                )
                assert not AuditEntry.objects.exists()
        assert len(callbacks) == 1  # one sequencer per transaction and log, not per append
        assert not PendingAuditEntry.objects.exists()
        entries = list(AuditEntry.objects.order_by("seq"))
        assert [e.pending_id for e in entries] == [p.pk for p in pending]
        assert [e.seq for e in entries] == [0, 1, 2]
        # `at` is the time of the append, kept by the pending row.
        assert all(micros(e.created_at) == p.at_us for e, p in zip(entries, pending, strict=True))
        assert audit.verify_log(audit.tenant_log()).ok


@pytest.mark.django_db
def test_a_rolled_back_action_leaves_no_entry(tenant_alpha, django_capture_on_commit_callbacks):
    with tenant_context(tenant_alpha):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                with transaction.atomic():
                    audit_actions.record_event("test.rolled_back")
                    transaction.set_rollback(True)
                # The first registration was rolled back with its savepoint: this append
                # needs (and gets) a callback of its own.
                kept = audit_actions.record_event("test.kept")
        assert list(AuditEntry.objects.values_list("event", "pending_id")) == [
            ("test.kept", kept.pk)
        ]
        assert not PendingAuditEntry.objects.exists()


@pytest.mark.django_db
def test_the_sequencer_drains_in_batches_in_append_order(tenant_alpha):
    with tenant_context(tenant_alpha):
        pending = audit.append_many([("test.event", {"i": i}) for i in range(10)])
        assert audit.sequence_pending(limit=3) == 10
        entries = list(AuditEntry.objects.order_by("seq"))
        assert [e.pending_id for e in entries] == [p.pk for p in pending]
        leaves = [merkle.leaf_hash(e.data.encode()) for e in entries]
        head = AuditLogHead.objects.get()
        assert head.size == 10 and bytes(head.root_hash) == merkle.root(leaves)
        assert AuditNode.objects.count() == 10 - 1 - 1  # n - popcount(n) inner nodes
        assert audit.sequence_pending() == 0  # nothing left: a no-op


@pytest.mark.django_db
def test_nothing_to_append_is_a_no_op(tenant_alpha, django_capture_on_commit_callbacks):
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            assert audit.append_many([]) == []
        assert callbacks == [] and not PendingAuditEntry.objects.exists()


@needs_owner
def test_the_migration_backfills_the_nodes_of_an_older_log(django_db_setup, django_db_blocker):
    """A log written before nodes existed: the migration rebuilds them tenant by tenant
    (on PostgreSQL through row-level security, in each tenant's context)."""
    import importlib

    from django.db.migrations.loader import MigrationLoader

    backfill = importlib.import_module("security_mgr.migrations.0009_backfill_audit_nodes")
    # The models as that migration sees them (they lived in security_mgr then).
    apps = (
        MigrationLoader(None, ignore_no_migrations=True)
        .project_state(("security_mgr", backfill.__name__.rsplit(".", 1)[1]))
        .apps
    )
    with committed_tenant(django_db_blocker, "audit-backfill") as tenant:
        with tenant_context(tenant):
            audit.append_many([("test.event", {"i": i}) for i in range(13)])
            before = sorted(AuditNode.objects.values_list("level", "index", "hash"))
        delete_as_owner(tenant, "security_mgr_auditnode")
        with tenant_context(tenant):
            assert not AuditNode.objects.exists()
            assert not audit.verify_log(audit.tenant_log()).ok
        backfill.backfill_nodes(apps, None)
        with tenant_context(tenant):
            nodes = sorted(
                (lv, ix, bytes(h))
                for lv, ix, h in AuditNode.objects.values_list("level", "index", "hash")
            )
            assert nodes == sorted((lv, ix, bytes(h)) for lv, ix, h in before)
            assert audit.verify_log(audit.tenant_log()).ok


@pytest.mark.django_db
def test_entry_of_gives_the_seq_inside_the_transaction(tenant_alpha):
    with tenant_context(tenant_alpha):
        audit.append("test.first")
        second = audit_actions.record_event("test.second")
        entry = audit.entry_of(second)
        assert (entry.seq, entry.event) == (1, "test.second")
        assert audit.entry_of(entry) is entry


@pytest.mark.django_db
def test_readers_that_must_be_complete_sequence_first(tenant_alpha):
    with tenant_context(tenant_alpha):
        log = audit.tenant_log()
        for i in range(5):
            audit.append("test.event", {"i": i})
        head = audit.sign_tree_head()
        assert head.tree_size == 5 and not PendingAuditEntry.objects.exists()
        audit.append("test.event", {"i": 5})
        proof = audit.prove_inclusion(log, 5)  # the current tree: pending included
        assert proof["tree_size"] == 6
        audit.append("test.event", {"i": 6})
        assert audit.prove_inclusion(log, 0, 6)["tree_size"] == 6  # an earlier size: as is
        assert PendingAuditEntry.objects.count() == 1
        report = audit.verify_log(log)
        assert report.ok and report.entries == 7 and report.pending["count"] == 1


@pytest.mark.django_db
def test_stored_proofs_equal_the_proofs_over_all_leaves(tenant_alpha):
    with tenant_context(tenant_alpha):
        log = audit.tenant_log()
        audit.append_many([("test.event", {"i": i}) for i in range(21)])
        audit.flush()
        leaves = [bytes(h) for h in AuditEntry.objects.values_list("leaf_hash", flat=True)]
        for size in range(1, 22):
            for index in range(size):
                proof = audit.prove_inclusion(log, index, size)
                assert proof["root_hash"] == merkle.root(leaves[:size]).hex()
                assert proof["proof"] == [
                    h.hex() for h in merkle.inclusion_proof(leaves[:size], index)
                ]
            for first in range(1, size + 1):
                proof = audit.prove_consistency(log, first, size)
                assert proof["first_root"] == merkle.root(leaves[:first]).hex()
                assert proof["proof"] == [
                    h.hex() for h in merkle.consistency_proof(leaves[:size], first)
                ]


@pytest.mark.django_db
def test_pending_entries_show_on_the_dashboard_and_the_beat_sweep_sequences_them(tenant_alpha):
    with tenant_context(tenant_alpha):
        audit.append("test.left_behind")
        pending = dashboard_data()["audit_pending"]
        assert pending["alpha"]["count"] == 1 and pending["alpha"]["oldest_age_s"] >= 0
        assert sequence_pending_audit_task.delay().get() == 1
        assert AuditEntry.objects.get().event == "test.left_behind"
        assert dashboard_data()["audit_pending"] == {}
        assert sequence_pending_audit_task.delay().get() == 0


@pytest.mark.django_db
def test_verify_audit_reports_what_was_pending(tenant_alpha):
    with tenant_context(tenant_alpha):
        audit.append("test.event")
    out = io.StringIO()
    call_command("verify_audit", tenant="alpha", stdout=out)
    assert "1 entries, 0 nodes" in out.getvalue()
    assert "1 pending entries" in out.getvalue()
    with tenant_context(tenant_alpha):
        audit.append_many([("test.event", {})] * 2)
    out = io.StringIO()
    call_command("verify_audit", tenant="alpha", json=True, stdout=out)
    (report,) = json.loads(out.getvalue())
    assert report["ok"] and report["entries"] == 3 and report["nodes_checked"] == 1
    assert report["pending_before"]["count"] == 2


@needs_owner
def test_outside_a_transaction_append_returns_the_sequenced_entry(
    django_db_setup, django_db_blocker, settings
):
    settings.SECURITY_AUDIT_SEQUENCING = "commit"
    with committed_tenant(django_db_blocker, "audit-direct") as tenant, tenant_context(tenant):
        assert not connection.in_atomic_block
        entries = [audit.append("test.event", {"i": i}, actor="al") for i in range(3)]
        assert [(type(e), e.seq) for e in entries] == [(AuditEntry, i) for i in range(3)]
        fields = [f.attname for f in AuditEntry._meta.concrete_fields]
        for entry in entries:  # the instance returned is the row as the ORM loads it
            stored = AuditEntry.objects.get(pk=entry.pk)
            assert [getattr(entry, f) for f in fields] == [getattr(stored, f) for f in fields]
            assert not entry._state.adding
        with transaction.atomic():
            pending = audit.append("test.event", {"i": 3})
        # Committed: the after-commit sequencer already gave it its seq.
        assert not PendingAuditEntry.objects.exists()
        assert audit.entry_of(pending).seq == 3


@postgres_only("SQLite serialises whole write transactions")
@needs_owner
def test_an_open_audited_transaction_blocks_no_other_append(django_db_setup, django_db_blocker):
    """The point of the queue: a transaction that appended and is still open (holding
    no head lock) does not stop another request from appending and being sequenced."""
    with committed_tenant(django_db_blocker, "audit-open") as tenant:
        appended, release, failures = threading.Event(), threading.Event(), []

        def slow_action():
            try:
                with tenant_context(tenant), transaction.atomic():
                    audit.append("test.slow")
                    appended.set()
                    release.wait(30)
            except Exception as exc:  # noqa: BLE001  (reported by the main thread)
                failures.append(exc)
                appended.set()
            finally:
                connection.close()

        slow = threading.Thread(target=slow_action)
        slow.start()
        try:
            assert appended.wait(30)
            with tenant_context(tenant), transaction.atomic():
                audit.append("test.fast")
            with tenant_context(tenant):
                # Sequenced after its commit while the slow transaction is still open.
                assert list(AuditEntry.objects.values_list("seq", "event")) == [(0, "test.fast")]
        finally:
            release.set()
            slow.join(30)
        assert not failures
        with tenant_context(tenant):
            assert list(AuditEntry.objects.order_by("seq").values_list("event", flat=True)) == [
                "test.fast",
                "test.slow",
            ]


@postgres_only("concurrent writers")
@needs_owner
def test_concurrent_appenders_build_one_gapless_verifiable_log(django_db_setup, django_db_blocker):
    with committed_tenant(django_db_blocker, "audit-concurrent") as tenant:
        failures = []

        def producer(worker):
            try:
                with tenant_context(tenant):
                    for i in range(25):
                        with transaction.atomic():
                            audit.append("test.event", {"worker": worker, "i": i})
            except Exception as exc:  # noqa: BLE001  (reported by the main thread)
                failures.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=producer, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures
        with tenant_context(tenant):
            assert not PendingAuditEntry.objects.exists()
            seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
            assert seqs == list(range(100))
            report = audit.verify_log(audit.tenant_log())
            assert report.ok, report.problems
            assert report.nodes_checked == 100 - 3  # n - popcount(100)
