"""The database, not only the ORM, refuses to change the audit log; check_isolation
notices when someone grants the runtime role the right to."""

import os

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from security_mgr import actions
from tenancy import rls
from tenancy.context import platform_access, tenant_context

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: privileges exist only there"
)


@needs_postgres
@pytest.mark.django_db
def test_runtime_and_platform_roles_cannot_update_or_delete_entries(tenant_a):
    with tenant_context(tenant_a):
        entry = actions.record_event("test.event")
        for sql in (
            "UPDATE security_mgr_auditentry SET event = 'x' WHERE id = %s",
            "DELETE FROM security_mgr_auditentry WHERE id = %s",
        ):
            with pytest.raises(DatabaseError, match="permission denied"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, [entry.pk])
    with platform_access("prove the platform role cannot rewrite the log"):
        for sql in (
            "UPDATE security_mgr_platformauditentry SET event = 'x'",
            "DELETE FROM security_mgr_auditentry",
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
    assert rls.inspect().ok
    owner = os.environ["DATABASE_OWNER_URL"]
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(f'GRANT UPDATE ON security_mgr_auditentry TO "{role}"')
    try:
        report = rls.inspect()
        assert any(
            "security_mgr_auditentry" in p and "append-only" in p and "UPDATE" in p
            for p in report.problems
        ), report.problems
    finally:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(f'REVOKE UPDATE ON security_mgr_auditentry FROM "{role}"')
    assert rls.inspect().ok
