"""The audit log: appends, append-only enforcement, signed heads, proofs, and
verification against direct database edits. (Crypto-shredding, whose receipt the log
keeps, is tested with the key rings: security_mgr/tests/test_keyring.py.)"""

import io

import pytest
from django.core.management import CommandError, call_command

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr import merkle
from audit_mgr.exceptions import AppendOnlyViolation
from audit_mgr.models import (
    AuditEntry,
    AuditNode,
    PendingAuditEntry,
    PlatformAuditEntry,
)
from tenancy.context import platform_access, tenant_context
from tests.committed import committed_tenant, edit_as_owner, needs_owner


@pytest.mark.django_db
def test_append_chains_roots_and_verifies(tenant_alpha):
    with tenant_context(tenant_alpha):
        for i in range(13):
            audit_actions.record_event("test.event", {"i": i}, actor="alice")
        log = audit.tenant_log()
        # Inside the test's transaction the entries wait for their commit; a reader
        # that must see them all sequences them first.
        assert AuditEntry.objects.count() == 0 and PendingAuditEntry.objects.count() == 13
        assert audit.flush() == 13
        entries = list(AuditEntry.objects.all())
        assert [e.seq for e in entries] == list(range(13))
        assert not PendingAuditEntry.objects.exists()
        leaves = [merkle.leaf_hash(e.data.encode()) for e in entries]
        assert bytes(entries[-1].root_hash) == merkle.root(leaves)
        stored = {(n.level, n.index): bytes(n.hash) for n in AuditNode.objects.all()}
        levels = merkle.tree_levels(leaves)
        assert stored == {(level, i): h for level, hashes in levels for i, h in enumerate(hashes)}
        report = audit.verify_log(log)
        assert report.ok and report.entries == 13 and report.nodes_checked == len(stored)


@pytest.mark.django_db
def test_the_orm_refuses_updates_and_deletes(tenant_alpha):
    with tenant_context(tenant_alpha):
        pending = audit_actions.record_event("test.event")
        entry = audit.entry_of(pending)
        entry.event = pending.event = "rewritten"
        for attempt in (
            entry.save,
            entry.delete,
            lambda: AuditEntry.objects.update(event="x"),
            lambda: AuditEntry.objects.all().delete(),
            lambda: AuditNode.objects.update(hash=b"x"),
            lambda: AuditNode.objects.all().delete(),
            # The queue too: only the sequencer consumes it.
            pending.save,
            pending.delete,
            lambda: PendingAuditEntry.objects.update(event="x"),
            lambda: PendingAuditEntry.objects.all().delete(),
        ):
            with pytest.raises(AppendOnlyViolation):
                attempt()


@pytest.mark.django_db
def test_signed_tree_heads_and_proofs(tenant_alpha):
    with tenant_context(tenant_alpha):
        log = audit.tenant_log()
        for i in range(5):
            audit_actions.record_event("test.event", {"i": i})
        first = audit_actions.sign_tree_head()
        for i in range(6):
            audit_actions.record_event("test.event", {"i": i})
        second = audit_actions.sign_tree_head()
        assert (first.tree_size, second.tree_size) == (5, 11)
        assert audit.verify_tree_head_signature(log, second)
        inclusion = audit.prove_inclusion(log, 3, 11)
        assert merkle.verify_inclusion(
            bytes.fromhex(inclusion["leaf_hash"]),
            3,
            11,
            [bytes.fromhex(h) for h in inclusion["proof"]],
            bytes(second.root_hash),
        )
        consistency = audit.prove_consistency(log, 5, 11)
        assert merkle.verify_consistency(
            5,
            11,
            bytes(first.root_hash),
            bytes(second.root_hash),
            [bytes.fromhex(h) for h in consistency["proof"]],
        )


@pytest.mark.django_db
def test_platform_access_is_appended_to_the_platform_log():
    before = PlatformAuditEntry.objects.count()
    with platform_access("quarterly compliance export", actor="ops"):
        pass
    audit.flush(audit.platform_log())
    entry = PlatformAuditEntry.objects.order_by("seq").last()
    assert PlatformAuditEntry.objects.count() == before + 1
    assert entry.event == "platform.access" and entry.actor == "ops"
    assert "quarterly compliance export" in entry.data
    assert audit.verify_log(audit.platform_log()).ok


# --- direct database edits, committed, seen by verify_audit -------------------------


def run_verify(slug):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", tenant=slug, stdout=out, stderr=err)
    except CommandError:
        return False, err.getvalue()
    return True, out.getvalue()


def _fill(tenant, n=8, sign_at=None):
    with tenant_context(tenant):
        for i in range(n):
            audit_actions.record_event("test.event", {"i": i}, actor="alice")
            if sign_at is not None and i + 1 == sign_at:
                audit_actions.sign_tree_head()
        audit_actions.sign_tree_head()
        return list(AuditEntry.objects.values_list("id", "seq", "data"))


@needs_owner
def test_verify_audit_names_an_entry_edited_directly_in_the_database(
    django_db_setup, django_db_blocker
):
    with committed_tenant(django_db_blocker, "audit-edit") as tenant:
        rows = _fill(tenant)
        assert run_verify("audit-edit")[0]
        row_id, seq, data = rows[5]
        forged = data.replace('"i":5', '"i":500')
        edit_as_owner(
            tenant, "UPDATE security_mgr_auditentry SET data = %s WHERE id = %s", [forged, row_id]
        )
        ok, message = run_verify("audit-edit")
        assert not ok
        assert f"entry #5 (row id {row_id}) was altered" in message


@needs_owner
def test_verify_audit_catches_recomputed_hashes_through_the_signed_heads(
    django_db_setup, django_db_blocker
):
    with committed_tenant(django_db_blocker, "audit-forge") as tenant:
        rows = _fill(tenant, n=8, sign_at=4)
        row_id, seq, data = rows[6]
        forged = data.replace('"i":6', '"i":600')
        # A careful forger recomputes the leaf and every later root...
        leaves = [merkle.leaf_hash(d.encode()) for _i, _s, d in rows]
        leaves[6] = merkle.leaf_hash(forged.encode())
        edit_as_owner(
            tenant,
            "UPDATE security_mgr_auditentry SET data = %s, leaf_hash = %s, root_hash = %s "
            "WHERE id = %s",
            [forged, leaves[6], merkle.root(leaves[:7]), row_id],
        )
        edit_as_owner(
            tenant,
            "UPDATE security_mgr_auditentry SET root_hash = %s WHERE id = %s",
            [merkle.root(leaves), rows[7][0]],
        )
        ok, message = run_verify("audit-forge")
        # ...but cannot re-sign the head: the edit is pinned between the heads.
        assert not ok
        assert "an entry in #4..#7 was altered" in message


@needs_owner
def test_verify_audit_names_a_removed_entry(django_db_setup, django_db_blocker):
    with committed_tenant(django_db_blocker, "audit-remove") as tenant:
        rows = _fill(tenant)
        edit_as_owner(tenant, "DELETE FROM security_mgr_auditentry WHERE id = %s", [rows[3][0]])
        ok, message = run_verify("audit-remove")
        assert not ok and "entry #3 was removed" in message


@needs_owner
def test_verify_audit_names_a_node_edited_or_removed_directly_in_the_database(
    django_db_setup, django_db_blocker
):
    from audit_mgr.exceptions import AuditStoreInconsistent

    with committed_tenant(django_db_blocker, "audit-node") as tenant:
        _fill(tenant, n=11)
        with tenant_context(tenant):
            node = AuditNode.objects.get(level=2, index=1)  # leaves 4..7
            gone = AuditNode.objects.get(level=1, index=4)  # leaves 8..9
        forged = b"\1" * 32
        edit_as_owner(
            tenant, "UPDATE security_mgr_auditnode SET hash = %s WHERE id = %s", [forged, node.pk]
        )
        ok, message = run_verify("audit-node")
        assert not ok
        assert f"node (level 2, index 1, row id {node.pk}) was altered" in message
        assert "entry #" not in message.split("unless")[0]  # the entries themselves are fine
        with tenant_context(tenant):
            # A proof through that node would not verify: the store refuses to give it.
            with pytest.raises(AuditStoreInconsistent):
                audit.prove_inclusion(audit.tenant_log(), 0, 11)
            assert audit.prove_inclusion(audit.tenant_log(), 9, 11)["tree_size"] == 11
        edit_as_owner(tenant, "DELETE FROM security_mgr_auditnode WHERE id = %s", [gone.pk])
        ok, message = run_verify("audit-node")
        assert not ok and "node (level 1, index 4) is missing" in message
        with tenant_context(tenant), pytest.raises(AuditStoreInconsistent, match="missing"):
            audit.prove_inclusion(audit.tenant_log(), 10, 11)


@pytest.mark.django_db
def test_console_changes_are_audited_in_the_tenant_log(tenant_alpha, alpha_owner, client):
    from tenancy.models import TenantSetting

    with tenant_context(tenant_alpha):
        setting = TenantSetting.objects.create(key="security.level", value="standard")
    client.force_login(alpha_owner)
    url = f"/admin/tenancy/tenantsetting/{setting.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {"key": "security.level", "value": '"quantum"', "description": ""})
    assert response.status_code == 302, response.content[:500]
    with tenant_context(tenant_alpha):
        audit.flush()
        entry = AuditEntry.objects.get(event="admin.change")
        assert entry.actor == "alice" and '"action":"changed"' in entry.data
        assert audit.verify_log(audit.tenant_log()).ok
