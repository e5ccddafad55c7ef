"""No blind tail (issue 10, point 5): an entry forged after the last signed head, with
its leaf, root and nodes computed correctly, is named by verify_audit; the sequencer
and the signer refuse a head row they did not seal; the unsigned tail is reported and
kept short by signing every minute."""

import json

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr import merkle
from audit_mgr.exceptions import AuditStoreInconsistent
from audit_mgr.models import AuditEntry, PendingAuditEntry, SignedTreeHead
from audit_mgr.tasks import sign_tree_head_task
from audit_mgr.tests.test_audit import _fill, run_verify
from tenancy.context import tenant_context
from tests.committed import committed_tenant, edit_as_owner, needs_owner

POSTGRES = connection.vendor == "postgresql"


def _forge_next_entry(tenant, *, move_head: bool) -> tuple[int, int]:
    """What a forger with the owner role does: append entry #n after the log's last
    entry with its data, leaf, root and the subtree nodes it completes all computed as
    the sequencer would, and optionally move the head row along. Returns (seq, row id)."""
    log = audit.tenant_log(tenant.pk)
    with tenant_context(tenant):
        datas = list(AuditEntry.objects.order_by("seq").values_list("data", flat=True))
    frontier: list[bytes] = []
    for seq, data in enumerate(datas):
        frontier = merkle.frontier_append(frontier, seq, merkle.leaf_hash(data.encode()))
    seq = len(datas)
    data = audit.canonical_data(
        log, seq, "key.rotated", "alice", timezone.now(), {"reason": "forged by the owner"}
    )
    leaf = merkle.leaf_hash(data.encode())
    frontier, nodes = merkle.frontier_append_nodes(frontier, seq, leaf)
    root = merkle.frontier_root(frontier)
    edit_as_owner(
        tenant,
        "INSERT INTO security_mgr_auditentry (tenant_id, seq, event, actor, created_at, data, "
        "leaf_hash, root_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [tenant.pk, seq, "key.rotated", "alice", timezone.now(), data, leaf, root],
    )
    for level, index, node in nodes:
        edit_as_owner(
            tenant,
            'INSERT INTO security_mgr_auditnode (tenant_id, level, "index", hash) '
            "VALUES (%s, %s, %s, %s)",
            [tenant.pk, level, index, node],
        )
    if move_head:
        edit_as_owner(
            tenant,
            "UPDATE security_mgr_auditloghead SET size = %s, frontier = "
            + ("CAST(%s AS jsonb)" if POSTGRES else "%s")
            + ", root_hash = %s WHERE tenant_id = %s",
            [seq + 1, json.dumps([h.hex() for h in frontier]), root, tenant.pk],
        )
    with tenant_context(tenant):
        return seq, AuditEntry.objects.get(seq=seq).pk


@needs_owner
def test_verify_audit_names_an_entry_forged_after_the_last_signed_head(
    django_db_setup, django_db_blocker
):
    with committed_tenant(django_db_blocker, "audit-tail") as tenant:
        _fill(tenant, n=8)  # signed at 8
        assert run_verify("audit-tail")[0]
        seq, row_id = _forge_next_entry(tenant, move_head=False)
        ok, message = run_verify("audit-tail")
        assert not ok
        assert (
            f"entry #{seq} (row id {row_id}) is beyond the head row's size 8: "
            "it was not written by the sequencer" in message
        )
        with tenant_context(tenant):
            report = audit.verify_log(audit.tenant_log())
        # The report counts what the head row records, never one entry more in silence.
        assert report.recorded_size == 8 and report.entries == 9 and report.first_bad_seq == 8


@needs_owner
def test_a_forged_entry_with_the_head_row_moved_too_is_named_and_never_signed(
    django_db_setup, django_db_blocker
):
    with committed_tenant(django_db_blocker, "audit-tail-head") as tenant:
        _fill(tenant, n=8)
        seq, row_id = _forge_next_entry(tenant, move_head=True)
        ok, message = run_verify("audit-tail-head")
        assert not ok
        assert "the head row (size 9) does not carry the sequencer's seal" in message
        assert f"entry #{seq} (row id {row_id}) is covered by no signed head" in message
        with tenant_context(tenant):
            # Neither the sequencer nor the signer builds on the forged head: new
            # entries wait in the queue, and nothing signs the forgery.
            audit_actions.record_event("test.after", {"i": 1})
            with pytest.raises(AuditStoreInconsistent, match="seal"):
                audit.flush()
            with pytest.raises(AuditStoreInconsistent, match="seal"):
                audit_actions.sign_tree_head()
            assert PendingAuditEntry.objects.count() == 1
            assert SignedTreeHead.objects.order_by("-tree_size").first().tree_size == 8


@pytest.mark.django_db
def test_verify_log_reports_the_unsigned_tail_without_failing(tenant_alpha):
    with tenant_context(tenant_alpha):
        for i in range(5):
            audit_actions.record_event("test.event", {"i": i})
        audit_actions.sign_tree_head()
        for i in range(3):
            audit_actions.record_event("test.event", {"i": i})
        report = audit.verify_log(audit.tenant_log())
        assert report.ok, report.problems
        assert (report.entries, report.recorded_size, report.signed_size) == (8, 8, 5)
        assert report.unsigned["count"] == 3
        assert (report.unsigned["from"], report.unsigned["to"]) == (5, 7)
        audit_actions.sign_tree_head()
        assert audit.verify_log(audit.tenant_log()).unsigned == {"count": 0}


@pytest.mark.django_db
def test_sign_tree_head_task_signs_a_moved_log_every_minute_and_an_idle_one_never_again(
    tenant_alpha,
):
    assert settings.PERIODIC_TASKS["security-sign-tree-heads"]["schedule"] <= 60
    assert settings.PERIODIC_TASKS["security-sign-platform-tree-head"]["schedule"] <= 60
    with tenant_context(tenant_alpha):
        audit_actions.record_event("test.event")
        first = sign_tree_head_task.delay().get()
        assert sign_tree_head_task.delay().get() == first  # idle: the same head
        assert SignedTreeHead.objects.count() == 1
        audit_actions.record_event("test.event")
        assert sign_tree_head_task.delay().get()["tree_size"] == 2
        assert SignedTreeHead.objects.count() == 2
