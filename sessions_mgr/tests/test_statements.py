"""The one-statement creation (statements.py): same rows as the ORM path, fenced by RLS,
planned on the right index whatever the table's size."""

import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit_mgr.models import PendingAuditEntry
from sessions_mgr import statements
from sessions_mgr.models import Session
from tenancy.context import tenant_context
from tenancy.db.batch import run_statements
from tests.committed import needs_owner
from tests.markers import postgres_only

one_statement_only = postgres_only("the one-statement creation")


@pytest.mark.django_db
def test_create_session_returns_the_row_as_stored(make_session, tenant_alpha):
    session, _token = make_session(ip="10.0.0.7", user_agent="UA/1", device_fingerprint="fp")
    with tenant_context(tenant_alpha):
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
        "step_up_required": False, "max_sessions": 20, "audit_event": "session.created",
        "audit_actor": f"user:{user.pk}", "audit_at_us": 1, "audit_payload": "{}",
    }  # fmt: skip
    return [values[name] for name in statements.PARAM_NAMES]


@one_statement_only
@pytest.mark.django_db
def test_one_statement_create_is_fenced_by_rls(
    make_session, tenant_alpha, tenant_beta, alpha_owner
):
    make_session()  # in tenant A's context
    # In tenant B's context the statement cannot write a row of tenant A.
    with tenant_context(tenant_beta), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            statements.insert_session(connection, _params(tenant_alpha, alpha_owner))
    with tenant_context(tenant_beta):
        assert statements.insert_session(connection, _params(tenant_beta, alpha_owner))
        assert Session.objects.filter(pk="f" * 32).exists()
    with tenant_context(tenant_alpha):
        assert not Session.objects.filter(pk="f" * 32).exists()
        assert PendingAuditEntry.objects.filter(event="session.created").count() == 1


def _plan(variant, tenant, user) -> str:
    """EXPLAIN of the statement with the plan PostgreSQL keeps and reuses (the generic
    one), made under the statements the creation sends before it, while the test tables
    hold a handful of rows. Through an SQL-level PREPARE (EXPLAIN cannot take a
    protocol-level statement) whose EXECUTE gets literal values: test data only."""
    from psycopg import sql

    types = ", ".join(type_ for _name, type_ in statements._PARAMS)
    values = sql.SQL(", ").join(sql.Literal(value) for value in _params(tenant, user))
    execute = sql.SQL("EXPLAIN EXECUTE dim_plan_probe ({})").format(values)
    steps = [
        ("SET LOCAL plan_cache_mode = force_generic_plan", None),
        *variant.before,
        (f"PREPARE dim_plan_probe ({types}) AS {variant.sql}", None),
        (execute.as_string(connection.connection), None),
        ("DEALLOCATE dim_plan_probe", None),
        *variant.after,
    ]
    results = run_statements(connection, steps)
    return "\n".join(row[0] for rows, _count in results for row in rows)


@one_statement_only
@needs_owner
@pytest.mark.django_db
def test_one_statement_create_checks_the_limit_through_the_user_index(
    make_session, tenant_alpha, alpha_owner
):
    import os

    import psycopg

    # Statistics of an empty table (a new installation: the plan is made while the
    # table is near empty and kept while it grows). Only the owner may ANALYZE.
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as owner:
        owner.execute("ANALYZE sessions_mgr_session")
    make_session()
    with tenant_context(tenant_alpha):
        plan = _plan(statements._variant(connection.get_autocommit()), tenant_alpha, alpha_owner)
    # An index that leads with or includes the user (sess_user_idx or the user_id
    # foreign key's): the limit check reads that user's sessions only, at any size.
    assert re.search(r"Index (Only )?Scan using \S*user\S* on sessions_mgr_session", plan), plan
    assert "Seq Scan" not in plan, plan
