"""The database, not only the ORM, refuses to change the audit log; check_isolation
notices when someone grants the runtime role the right to."""

import os

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr.models import AuditNode
from tenancy import rls_inspect
from tenancy.context import platform_access, tenant_context
from tests.markers import postgres_only

needs_postgres = postgres_only("privileges exist only there")


@needs_postgres
@pytest.mark.django_db
def test_runtime_and_platform_roles_cannot_update_or_delete_entries(tenant_alpha):
    with tenant_context(tenant_alpha):
        audit.append_many([("test.event", {})] * 2)
        entry = audit.entry_of(audit_actions.record_event("test.event"))
        node = AuditNode.objects.first()
        pending = audit_actions.record_event("test.pending")
        for sql, pk in (
            ("UPDATE security_mgr_auditentry SET event = 'x' WHERE id = %s", entry.pk),
            ("DELETE FROM security_mgr_auditentry WHERE id = %s", entry.pk),
            ("UPDATE security_mgr_auditnode SET hash = hash WHERE id = %s", node.pk),
            ("DELETE FROM security_mgr_auditnode WHERE id = %s", node.pk),
            # The queue: its rows are consumed whole (DELETE), never rewritten.
            ("UPDATE security_mgr_pendingauditentry SET event = 'x' WHERE id = %s", pending.pk),
        ):
            with pytest.raises(DatabaseError, match="permission denied"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, [pk])
    with platform_access("prove the platform role cannot rewrite the log"):
        for sql in (
            "UPDATE security_mgr_platformauditentry SET event = 'x'",
            "DELETE FROM security_mgr_auditentry",
            "DELETE FROM security_mgr_platformauditnode",
            "UPDATE security_mgr_platformpendingentry SET event = 'x'",
        ):
            with pytest.raises(DatabaseError, match="permission denied"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql)


@needs_postgres
@pytest.mark.django_db
def test_check_isolation_flags_an_append_only_table_that_became_writable():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = cursor.fetchone()[0]
    assert rls_inspect.inspect().ok
    owner = os.environ["DATABASE_OWNER_URL"]
    # The queue may be deleted from (consumed), never updated; the nodes neither.
    grants = [
        ("UPDATE", "security_mgr_auditentry"),
        ("DELETE", "security_mgr_auditnode"),
        ("UPDATE", "security_mgr_pendingauditentry"),
    ]
    for privilege, table in grants:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(f'GRANT {privilege} ON {table} TO "{role}"')
        try:
            report = rls_inspect.inspect()
            assert any(
                table in p and "append-only" in p and privilege in p for p in report.problems
            ), report.problems
        finally:
            with psycopg.connect(owner, autocommit=True) as conn:
                conn.execute(f'REVOKE {privilege} ON {table} FROM "{role}"')
    assert rls_inspect.inspect().ok
