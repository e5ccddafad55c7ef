"""The database layer on its own: RLS fences raw SQL run as the runtime role.

These need PostgreSQL; on the embedded default (SQLite has no RLS) they are reported
as not run. In CI the PostgreSQL run sets DIM_REQUIRE_POSTGRES=1: then they never skip
(`tests.markers.postgres_only`), and `test_suite_runs_on_postgres_as_runtime_role` fails
if the suite is not on PostgreSQL after all.
"""

import os
from unittest import mock

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models.sql.query import Query

from tenancy import rls, rls_inspect, sqlguard
from tenancy.context import no_tenant, tenant_context
from tenancy.models import scoped_models
from tests.isolation.checks import scoped_fks
from tests.markers import ON_POSTGRES, postgres_only

MODELS = scoped_models()
IDS = [m._meta.label for m in MODELS]
LINKED = [m for m in MODELS if scoped_fks(m)]
needs_postgres = postgres_only("SQLite has no row-level security")


def _scalar(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


@needs_postgres
@pytest.mark.django_db
def test_suite_runs_on_postgres_as_runtime_role():
    assert ON_POSTGRES, "CI asked for PostgreSQL but the suite runs on " + connection.vendor
    user = _scalar("SELECT current_user")
    assert _scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
    assert _scalar("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user") is False
    for model in MODELS:
        owner = _scalar(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s",
            [model._meta.db_table],
        )
        assert owner != user, f"tests run as the owner of {model._meta.db_table}"


@needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_raw_sql_no_context_sees_zero_rows(model, world):
    with tenant_context(world.tenant_alpha):  # positive control
        assert _scalar(f"SELECT count(*) FROM {_table(model)}") >= 1
    with no_tenant():
        assert _scalar(f"SELECT count(*) FROM {_table(model)}") == 0


@needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_raw_sql_context_a_never_sees_b(model, world):
    row_a, row_b = world.rows[model]
    with tenant_context(world.tenant_alpha):
        sql = f"SELECT count(*) FROM {_table(model)} WHERE id = %s"
        assert _scalar(sql, [row_a.pk]) == 1
        assert _scalar(sql, [row_b.pk]) == 0
        assert (
            _scalar(
                f"SELECT count(*) FROM {_table(model)} WHERE tenant_id = %s", [world.tenant_beta.pk]
            )
            == 0
        )


@needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_raw_sql_writes_naming_b_fail_with_check(model, world):
    row_a, row_b = world.rows[model]
    table = _table(model)
    move = f"UPDATE {table} SET tenant_id = %s WHERE id = %s"
    if getattr(model, "append_only", False):
        _append_only_refused_by_database(model, world)
        return
    with tenant_context(world.tenant_alpha):
        with transaction.atomic():  # positive control: the statement itself is allowed
            with connection.cursor() as cursor:
                cursor.execute(move, [world.tenant_alpha.pk, row_a.pk])
                assert cursor.rowcount == 1
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(move, [world.tenant_beta.pk, row_a.pk])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET tenant_id = tenant_id WHERE id = %s", [row_b.pk])
            assert cursor.rowcount == 0  # B's row is not even visible to UPDATE
        # INSERT naming B, past every ORM check (the SQL guard too): only RLS is left.
        clone = model(
            **{
                f.attname: getattr(row_a, f.attname)
                for f in model._meta.concrete_fields
                if not f.primary_key
            }
        )
        clone.tenant_id = world.tenant_beta.pk
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                _insert_past_the_orm(model, clone)


def _insert_past_the_orm(model, obj):
    """An ORM-built INSERT compiled without tenancy.sqlguard, which would refuse it."""
    unguarded = sqlguard.ORIGINALS["Query.get_compiler"]
    with mock.patch.object(Query, "get_compiler", unguarded):
        model._base_manager._insert(
            [obj], fields=[f for f in model._meta.concrete_fields if not f.primary_key]
        )


def _append_only_refused_by_database(model, world):
    """The runtime role holds SELECT and INSERT only: even its own tenant's rows cannot
    be changed or deleted; inserting into another tenant is still an RLS violation. A
    consumable (queue) table may also be deleted from, within the tenant only."""
    row_a, row_b = world.rows[model]
    table = _table(model)
    refused = [f"UPDATE {table} SET tenant_id = tenant_id WHERE id = %s"]
    if getattr(model, "consumable", False):
        with tenant_context(world.tenant_alpha), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row_b.pk])
                assert cursor.rowcount == 0  # B's row is not even visible to DELETE
                cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row_a.pk])
                assert cursor.rowcount == 1  # positive control: A may consume its own
            transaction.set_rollback(True)
    else:
        refused.append(f"DELETE FROM {table} WHERE id = %s")
    with tenant_context(world.tenant_alpha):
        for sql in refused:
            with pytest.raises(DatabaseError, match="permission denied"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, [row_a.pk])
        clone = model(
            **{
                f.attname: getattr(row_a, f.attname)
                for f in model._meta.concrete_fields
                if not f.primary_key
            }
        )
        clone.tenant_id = world.tenant_beta.pk
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                _insert_past_the_orm(model, clone)


@needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [m for m in MODELS if scoped_fks(m)],
    ids=[m._meta.label for m in MODELS if scoped_fks(m)],
)
def test_raw_sql_link_to_b_rejected_by_composite_fk(model, world):
    row_a, _ = world.rows[model]
    for fk in scoped_fks(model):
        parent_a, parent_b = world.rows[fk.related_model]
        sql = f"UPDATE {_table(model)} SET {fk.column} = %s WHERE id = %s"
        with tenant_context(world.tenant_alpha):
            with transaction.atomic(), connection.cursor() as cursor:  # positive control
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(sql, [parent_a.pk, row_a.pk])
            with pytest.raises(DatabaseError, match="foreign key"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute(sql, [parent_b.pk, row_a.pk])


@needs_postgres
@pytest.mark.django_db
def test_policy_uses_tenant_index(world):
    model = MODELS[0]
    with tenant_context(world.tenant_alpha), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT * FROM {_table(model)}")
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "InitPlan" in plan  # the setting is read once per statement
    assert "Index" in plan and "tenant_id" in plan


# --- check_isolation against a deliberately broken schema -------------------------------


def _owner_execute(sql):
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
        conn.execute(sql)


@needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "breakage, repair, expected",
    [
        (
            "ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
            "ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
            "not FORCEd",
        ),
        (
            "ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
            "not enabled",
        ),
        ("DROP POLICY dim_tenant_isolation ON {t}", None, "policy dim_tenant_isolation is missing"),
        (
            "CREATE POLICY sneaky ON {t} USING (true)",
            "DROP POLICY sneaky ON {t}",
            "unexpected policy sneaky",
        ),
        (
            "DROP POLICY dim_tenant_isolation ON {t}; CREATE POLICY dim_tenant_isolation ON {t} "
            f"USING ({rls.POLICY_EXPR} OR true) "
            f"WITH CHECK ({rls.POLICY_EXPR})",
            None,
            "unexpected USING clause",
        ),
        (
            "DROP POLICY dim_tenant_isolation ON {t}; CREATE POLICY dim_tenant_isolation ON {t} "
            f"USING ({rls.POLICY_EXPR})",
            None,
            "unexpected WITH CHECK",
        ),
    ],
)
def test_check_isolation_names_the_broken_table(breakage, repair, expected):
    table = MODELS[0]._meta.db_table
    assert rls_inspect.inspect().ok  # positive control
    _owner_execute(breakage.format(t=table))
    try:
        report = rls_inspect.inspect()
        assert not report.ok
        assert any(table in p and expected in p for p in report.problems), report.problems
    finally:
        if repair:
            _owner_execute(repair.format(t=table))
        else:
            _repair_policies()
    assert rls_inspect.inspect().ok


def _repair_policies():
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_OWNER_URL"]}
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
        check=True,
    )


@needs_postgres
@pytest.mark.django_db
def test_check_isolation_flags_a_runtime_role_that_bypasses_rls():
    report = rls_inspect.inspect()
    assert report.ok and report.runtime_role == "dim_app"
    problems = rls_inspect.role_problems  # the role check on its own, against `postgres`
    with connection.cursor() as cursor:
        found = problems(cursor, "postgres")
    assert any("superuser" in p for p in found)


def _repair_grants():
    _repair_policies()  # migrate re-applies functions, grants and revokes


@needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "breakage, expected",
    [
        ("GRANT SELECT ON dim_context_key TO dim_app", "may SELECT the context key table"),
        ("GRANT TEMPORARY ON DATABASE {db} TO dim_app", "may create temporary objects"),
        ("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO dim_app", "may read sequences"),
        (
            "CREATE OR REPLACE FUNCTION public.dim_context_tenants() RETURNS bigint[] "
            "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS "
            "$$SELECT ARRAY[nullif(current_setting('app.tenant_id', true), '')::bigint]$$",
            "unexpected body",
        ),
        (
            "ALTER FUNCTION public.dim_context_tenants() SECURITY INVOKER",
            "not SECURITY DEFINER",
        ),
        ("ALTER FUNCTION public.dim_context_tenants() VOLATILE", "not STABLE"),
        ("UPDATE dim_context_key SET ipad = opad", "refuses the application's proofs"),
    ],
    ids=["key", "temp", "sequences", "trusting", "invoker", "volatile", "key_mismatch"],
)
def test_check_isolation_names_a_forgeable_context(breakage, expected):
    assert rls_inspect.inspect().ok  # positive control
    db = connection.settings_dict["NAME"]
    _owner_execute(breakage.format(db=db))
    try:
        report = rls_inspect.inspect()
        assert any(expected in p for p in report.problems), report.problems
    finally:
        _repair_grants()
    assert rls_inspect.inspect().ok


@needs_postgres
@pytest.mark.django_db
def test_check_isolation_names_a_runtime_role_member_of_another_role():
    report = rls_inspect.inspect()
    assert report.ok, report.problems
    admin = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "DO $$BEGIN CREATE ROLE dim_probe_role NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END$$"
        )
        conn.execute("GRANT dim_probe_role TO dim_app")
        try:
            problems = rls_inspect.inspect().problems
        finally:
            conn.execute("REVOKE dim_probe_role FROM dim_app")
    assert any("member of 'dim_probe_role'" in p for p in problems), problems
