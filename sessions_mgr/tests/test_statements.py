"""The prepared creation statement (statements.py): same rows as the ORM path, fenced by
RLS on every execution, planned on the right index whatever the table's size, prepared
again when the server lost it."""

import pytest
from django.db import DatabaseError, ProgrammingError, connection, transaction
from django.utils import timezone

from security_mgr.models import AuditEntry, PendingAuditEntry
from security_mgr.tests.committed import needs_owner
from sessions_mgr import statements
from sessions_mgr.actions import do_create_session
from sessions_mgr.models import Session
from tenancy.context import tenant_context
from tenancy.db.batch import run_statements
from tests.markers import postgres_only

prepared_statement_only = postgres_only("the prepared statement")


@pytest.mark.django_db
def test_create_session_returns_the_row_as_stored(make_session, tenant_a):
    session, _token = make_session(ip="10.0.0.7", user_agent="UA/1", device_fingerprint="fp")
    with tenant_context(tenant_a):
        row = Session.objects.get(pk=session.pk)
    for field in Session._meta.concrete_fields:
        assert getattr(row, field.attname) == getattr(session, field.attname), field.name
    assert not session._state.adding


def _params(tenant, user, session_id="f" * 32) -> list:
    now = timezone.now()
    values = {
        "tenant_id": tenant.pk, "id": session_id, "user_id": user.pk, "session_type": "user",
        "security_level": "standard", "created_at": now, "idle_expires_at": now,
        "absolute_expires_at": now + timezone.timedelta(hours=1), "ip": None, "user_agent": "",
        "device_fingerprint": "", "token_hash": "0" * 64, "key_version": 1,
        "step_up_required": False, "max_sessions": 20, "event": "session.created",
        "actor": f"user:{user.pk}", "at_us": 1, "payload": "{}",
    }  # fmt: skip
    return [values[name] for name in statements.PARAM_NAMES]


@prepared_statement_only
@pytest.mark.django_db
def test_prepared_create_is_fenced_by_rls(make_session, tenant_a, tenant_b, owner_a):
    make_session()  # prepared on this connection, in tenant A's context
    # In tenant B's context the statement cannot write a row of tenant A.
    with tenant_context(tenant_b), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            statements.insert_session(connection, _params(tenant_a, owner_a))
    with tenant_context(tenant_b):
        assert statements.insert_session(connection, _params(tenant_b, owner_a))
        assert Session.objects.filter(pk="f" * 32).exists()
    with tenant_context(tenant_a):
        assert not Session.objects.filter(pk="f" * 32).exists()
        assert PendingAuditEntry.objects.filter(event="session.created").count() == 1


def _plan(variant, tenant, user) -> str:
    """EXPLAIN of the statement as it runs, with the plan PostgreSQL keeps and reuses (the
    generic one), while the test tables hold a handful of rows."""
    setup, (execute, _none), *rest = variant.execute
    statements = [
        ("SET LOCAL plan_cache_mode = force_generic_plan", None),
        setup,
        ("EXPLAIN " + execute, _params(tenant, user)),
        *rest,
    ]
    results = run_statements(connection, statements)
    return "\n".join(row[0] for rows, _count in results for row in rows)


@prepared_statement_only
@needs_owner
@pytest.mark.django_db
def test_prepared_create_checks_the_limit_through_the_user_index(make_session, tenant_a, owner_a):
    import os

    import psycopg

    # Statistics of an empty table (a new installation: the plan is made while the
    # table is near empty and kept while it grows). Only the owner may ANALYZE.
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as owner:
        owner.execute("ANALYZE sessions_mgr_session")
    make_session()
    with tenant_context(tenant_a):
        plan = _plan(statements._variant(connection.get_autocommit()), tenant_a, owner_a)
    assert "sess_user_idx" in plan, plan
    assert "Seq Scan" not in plan, plan


@prepared_statement_only
@pytest.mark.django_db
def test_create_session_in_a_transaction_fails_when_the_statement_was_lost(make_session, tenant_a):
    make_session()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pool reset or DISCARD ALL does
    # Inside a transaction the failed statement aborted it: the error reaches the caller.
    with pytest.raises(ProgrammingError), transaction.atomic():
        make_session()
    session, _token = make_session()  # prepared again
    with tenant_context(tenant_a):
        assert Session.objects.filter(pk=session.pk).exists()


@prepared_statement_only
def test_create_session_in_autocommit_prepares_again_when_the_statement_was_lost(
    django_db_setup, django_db_blocker
):
    from security_mgr.tests.committed import committed_tenant

    user_id = 987_654  # sessions do not constrain the user at the database level
    with committed_tenant(django_db_blocker, "sessions-prepared-again") as tenant:
        try:
            with tenant_context(tenant):
                assert connection.get_autocommit()
                first, _ = do_create_session(tenant_id=tenant.pk, user_id=user_id)
                with connection.cursor() as cursor:
                    cursor.execute("DEALLOCATE ALL")
                second, _ = do_create_session(tenant_id=tenant.pk, user_id=user_id)
                assert Session.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
                entries = AuditEntry.objects.filter(event="session.created").count()
                pending = PendingAuditEntry.objects.filter(event="session.created").count()
                assert entries + pending == 2
        finally:
            with tenant_context(tenant):
                Session.objects.all().delete()
