"""Red team, perf_mgr's PostgreSQL ingest path (migration 0007, perf_mgr/store.py) as a
second tenant on the same pooled connection, with raw SQL as the runtime role.

The stage `pg_temp.dim_perf_stage` has no tenant column and no row-level security: it
is safe only while no rows of one tenant are left in it when the connection serves
another. ON COMMIT DELETE ROWS covers the next transaction; the store also empties the
stage right after each move, which covers a later tenant context inside the same
transaction (the one attack that succeeded: B read A's staged values).
"""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from perf_mgr import store
from perf_mgr.models import MetricSample
from tenancy.context import tenant_context
from tests.markers import postgres_only

pytestmark = [postgres_only("the session's temporary stage"), pytest.mark.django_db]
TABLE = MetricSample._meta.db_table
SAMPLE = [("atk.metric", (), "custom", 42.5, 1_000)]


def rows(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def refused(sql, params=None) -> bool:
    try:
        with transaction.atomic():
            rows(sql, params)
    except DatabaseError:
        return True
    return False


def staged():
    return rows(f"SELECT series_id, at_us, value FROM {store.STAGE}")


def a_values(tenant):
    with tenant_context(tenant):
        return sorted(MetricSample.objects.values_list("value", flat=True))


def test_rows_a_staged_are_gone_when_the_transaction_switches_to_b(tenant_alpha, tenant_beta):
    with transaction.atomic():
        with tenant_context(tenant_alpha):
            assert store.write(SAMPLE) == (1, [])
            assert a_values(tenant_alpha) == [42.5]  # positive control: A stored it
        with tenant_context(tenant_beta):
            assert staged() == []


def test_a_savepoint_rolled_back_in_b_does_not_bring_a_rows_back(tenant_alpha, tenant_beta):
    """TRUNCATE is transactional: had A's rows only been emptied by B's next stage call,
    rolling back B's savepoint would restore them."""
    with transaction.atomic():
        with tenant_context(tenant_alpha):
            store.write(SAMPLE)
        with tenant_context(tenant_beta):
            with pytest.raises(RuntimeError), transaction.atomic():
                rows(store.STAGE_SQL)
                raise RuntimeError("roll back to the savepoint")
            assert staged() == []


def test_a_flush_failing_after_the_copy_leaves_nothing_staged(tenant_alpha, tenant_beta):
    """The move fails (WITH CHECK) after the COPY succeeded; the caller catches it and
    the connection goes on to B in the same transaction."""
    with transaction.atomic():
        with tenant_context(tenant_alpha):
            rows(store.STAGE_SQL)  # created outside the savepoint, so it outlives it
            with pytest.raises(DatabaseError), transaction.atomic():
                store.copy_rows(tenant_beta.pk, [(1, 10, 7.0)])
        with tenant_context(tenant_beta):
            assert staged() == []


def test_one_flush_of_two_tenants_leaves_nothing_for_the_next_context(tenant_alpha, tenant_beta):
    """The flusher writes tenant after tenant on one connection; inside an outer
    transaction (an inline flush at the end of a request) nothing of either is staged."""
    from perf_mgr import recording

    with tenant_context(tenant_alpha):
        recording.record_metric("atk_flush", 3)
    with tenant_context(tenant_beta):
        recording.record_metric("atk_flush", 100)
    with transaction.atomic():
        assert recording.flush() == 2
        with tenant_context(tenant_alpha):
            assert staged() == []
            assert a_values(tenant_alpha) == [3.0]
        with tenant_context(tenant_beta):
            assert staged() == []
            assert a_values(tenant_beta) == [100.0]


def test_b_cannot_store_samples_for_a_through_the_stage(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        store.write([("m", (), "custom", 1.0, 10)])
    series = rows(f"SELECT max(series_id) FROM {TABLE}")  # RLS: no claim, no rows
    assert series == [(None,)]
    with tenant_context(tenant_beta):
        rows(store.STAGE_SQL)
        with pytest.raises(DatabaseError), transaction.atomic():
            store.copy_rows(tenant_alpha.pk, [(1, 20, 666.0)])
        with pytest.raises(DatabaseError), transaction.atomic():
            rows(f"INSERT INTO {store.STAGE} VALUES (1, 30, 666.0)")
            rows(
                f"INSERT INTO {TABLE} (tenant_id, series_id, at_us, value) "
                f"SELECT %s, series_id, at_us, value FROM {store.STAGE}",
                [tenant_alpha.pk],
            )
    assert a_values(tenant_alpha) == [1.0]


def test_the_stage_function_gives_the_runtime_role_no_temp_objects_of_its_own(tenant_alpha):
    """The function initialises the session's temporary schema as the owner; the runtime
    role still may create nothing in it (no shadowing table, no trigger function run by
    the definer's TRUNCATE), nor change the stage beyond SELECT and INSERT."""
    with tenant_context(tenant_alpha):
        assert rows(store.STAGE_SQL) == [(True,)]
    for sql in (
        "CREATE TEMP TABLE perf_mgr_metricsample (x int)",
        "CREATE TEMP VIEW tenancy_tenantsetting AS SELECT 1",
        "CREATE FUNCTION pg_temp.dim_atk() RETURNS trigger LANGUAGE plpgsql "
        "AS 'BEGIN RETURN NULL; END'",
        "CREATE TABLE public.dim_perf_stage (series_id bigint, at_us bigint, value float8)",
        f"CREATE INDEX ON {store.STAGE} (value)",
        f"ALTER TABLE {store.STAGE} ADD COLUMN tenant_id int",
        f"TRUNCATE {store.STAGE}",
        f"DELETE FROM {store.STAGE}",
        f"UPDATE {store.STAGE} SET value = 0",
        f"LOCK TABLE {store.STAGE}",
        "ALTER FUNCTION public.dim_perf_stage() RESET search_path",
    ):
        assert refused(sql), sql


def test_the_stage_function_is_pinned_and_not_public():
    ((definer, config, public, owner_is_me),) = rows(
        "SELECT p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE'), "
        "pg_has_role(current_user, p.proowner, 'MEMBER') FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname = %s AND p.pronargs = 0",
        [store.STAGE_FUNCTION],
    )
    assert definer and "search_path=pg_catalog" in config
    assert not public and not owner_is_me


def test_nothing_staged_survives_a_commit_or_a_rollback():
    """One session of the runtime role, several transactions (a pooled connection)."""
    settings = connection.settings_dict
    params = {"dbname": settings["NAME"], "user": settings["USER"], "host": settings["HOST"]}
    params.update(port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None)
    with psycopg.connect(**params) as session:
        assert session.execute("SELECT public.dim_perf_stage()").fetchone() == (True,)
        session.execute(f"INSERT INTO {store.STAGE} VALUES (1, 1, 1.0)")
        assert session.execute(f"SELECT count(*) FROM {store.STAGE}").fetchone() == (1,)
        session.commit()
        assert session.execute(f"SELECT count(*) FROM {store.STAGE}").fetchone() == (0,)
        session.execute(f"INSERT INTO {store.STAGE} VALUES (2, 2, 2.0)")
        session.rollback()
        assert session.execute(f"SELECT count(*) FROM {store.STAGE}").fetchone() == (0,)
        session.rollback()
        session.autocommit = True
        session.execute(f"INSERT INTO {store.STAGE} VALUES (3, 3, 3.0)")
        assert session.execute(f"SELECT count(*) FROM {store.STAGE}").fetchone() == (0,)


@pytest.mark.parametrize(
    "breakage, repair",
    [
        (
            "GRANT EXECUTE ON FUNCTION public.dim_perf_stage() TO PUBLIC",
            "REVOKE ALL ON FUNCTION public.dim_perf_stage() FROM PUBLIC",
        ),
        (
            "ALTER FUNCTION public.dim_perf_stage() RESET search_path",
            "ALTER FUNCTION public.dim_perf_stage() SET search_path = pg_catalog",
        ),
    ],
    ids=["public_execute", "search_path"],
)
def test_check_isolation_names_a_weakened_stage_function(breakage, repair):
    from tenancy import rls_inspect
    from tests.isolation.test_attack_identity import _owner_execute

    assert rls_inspect.inspect().ok, rls_inspect.inspect().problems  # positive control
    _owner_execute(breakage)
    try:
        problems = rls_inspect.inspect().problems
        assert any("dim_perf_stage()" in p for p in problems), problems
    finally:
        _owner_execute(repair)
    assert rls_inspect.inspect().ok
