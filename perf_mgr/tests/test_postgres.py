"""On PostgreSQL, as the runtime role: row-level security fences the metric tables for
raw SQL too, and the ingest statement is checked row by row."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from perf_mgr import store
from perf_mgr.models import MetricSample
from tenancy.context import tenant_context
from tests.markers import postgres_only

pytestmark = [pytest.mark.django_db, postgres_only("row-level security on the metric tables")]


def test_ingest_runs_as_a_role_that_row_level_security_applies_to():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, pg_has_role(current_user, tableowner, 'MEMBER') "
            "FROM pg_roles, pg_tables WHERE rolname = current_user "
            "AND tablename = 'perf_mgr_metricsample'"
        )
        assert cursor.fetchone() == (False, False, False)


def test_raw_insert_as_tenant_a_cannot_name_tenant_b(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            store.insert_rows(tenant_beta.pk, [(1, 1, 1.0)])
    with tenant_context(tenant_alpha), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO perf_mgr_metricsample (tenant_id, series_id, at_us, value) "
                "VALUES (%s, 1, 1, 1.0)",
                [tenant_beta.pk],
            )
    with tenant_context(tenant_beta):
        assert MetricSample.objects.count() == 0


def test_copy_is_refused_under_row_level_security(tenant_alpha):
    """Why the ingest COPYs into a stage and not into the samples: PostgreSQL refuses it."""
    refused = pytest.raises((DatabaseError, psycopg.Error), match="COPY FROM not supported")
    with tenant_context(tenant_alpha), refused:
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.copy(
                "COPY perf_mgr_metricsample (tenant_id, series_id, at_us, value) FROM STDIN"
            ) as copy:
                copy.write_row((tenant_alpha.pk, 1, 1, 1.0))


def test_raw_reads_see_the_tenant_in_context_only(tenant_alpha, tenant_beta, write_samples):
    write_samples(tenant_alpha, [("m", None, 1, 10)])
    write_samples(tenant_beta, [("m", None, 2, 10)])
    for tenant, value in ((tenant_alpha, 1.0), (tenant_beta, 2.0)):
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute("SELECT tenant_id, value FROM perf_mgr_metricsample")
            assert cursor.fetchall() == [(tenant.pk, value)]
            cursor.execute("SELECT count(*) FROM perf_mgr_metricseries")
            assert cursor.fetchone() == (1,)


def test_without_a_claim_nothing_is_read_or_written(tenant_alpha, write_samples):
    from tenancy.context import no_tenant

    write_samples(tenant_alpha, [("m", None, 1, 10)])
    with no_tenant(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM perf_mgr_metricsample")
        assert cursor.fetchone() == (0,)
    with no_tenant(), pytest.raises((DatabaseError, psycopg.Error)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO perf_mgr_metricsample (tenant_id, series_id, at_us, value) "
                "VALUES (%s, 1, 1, 1.0)",
                [tenant_alpha.pk],
            )


def test_ingest_copies_through_the_stage_and_row_level_security_checks_the_move(
    tenant_alpha, tenant_beta
):
    with tenant_context(tenant_alpha), transaction.atomic():
        assert store.copy_rows(tenant_alpha.pk, [(1, 10, 1.0), (1, 11, 2.0)]) == 2
        assert sorted(MetricSample.objects.values_list("at_us", "value")) == [
            (10, 1.0),
            (11, 2.0),
        ]
    # The stage has no tenant column: the move names the tenant, and RLS checks it.
    with tenant_context(tenant_alpha), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            store.copy_rows(tenant_beta.pk, [(1, 12, 3.0)])
    with tenant_context(tenant_beta):
        assert MetricSample.objects.count() == 0


def test_batches_in_one_transaction_are_each_stored_once(tenant_alpha, write_samples):
    with transaction.atomic():
        write_samples(tenant_alpha, [("m", None, 1, 10), ("m", None, 2, 11)])
        write_samples(tenant_alpha, [("m", None, 3, 12)])
    with tenant_context(tenant_alpha):
        assert sorted(MetricSample.objects.values_list("value", flat=True)) == [1.0, 2.0, 3.0]


def test_more_rows_than_one_statement_are_moved_in_parts(tenant_alpha, monkeypatch):
    monkeypatch.setattr(store, "INSERT_BATCH", 3)
    rows = [(1, at, float(at)) for at in range(8)]
    with tenant_context(tenant_alpha), transaction.atomic():
        assert store.copy_rows(tenant_alpha.pk, rows) == 8
        assert sorted(MetricSample.objects.values_list("at_us", flat=True)) == list(range(8))


def test_the_runtime_role_still_cannot_create_temporary_tables(tenant_alpha, write_samples):
    """The stage is the owner's function's one table; the role gets no TEMP privilege."""
    write_samples(tenant_alpha, [("m", None, 1, 10)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_database_privilege(current_database(), 'TEMP')")
        assert cursor.fetchone() == (False,)
    with pytest.raises((DatabaseError, psycopg.Error), match="permission denied"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE perf_mgr_metricsample (x int)")


def test_the_samples_primary_key_leads_with_the_tenant():
    """No B-tree on the id alone: every read names the tenant (migration 0007); none on
    the tenant alone either (migration 0010)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = 'perf_mgr_metricsample'::regclass AND i.indisprimary"
        )
        assert cursor.fetchone() == (["tenant_id", "id"],)
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'perf_mgr_metricsample'::regclass "
            "AND indnatts = 1 AND indkey[0] = (SELECT attnum FROM pg_attribute WHERE "
            "attrelid = 'perf_mgr_metricsample'::regclass AND attname = 'id')"
        )
        assert cursor.fetchone() == (0,)
        # Nor on the tenant alone: the primary key leads with it (migration 0010).
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'perf_mgr_metricsample'::regclass "
            "AND indnatts = 1 AND indkey[0] = (SELECT attnum FROM pg_attribute WHERE "
            "attrelid = 'perf_mgr_metricsample'::regclass AND attname = 'tenant_id')"
        )
        assert cursor.fetchone() == (0,)


def test_without_the_stage_the_array_insert_stores_the_batch(tenant_alpha, monkeypatch):
    """A role the migration did not grant the stage function to (or an owner without
    TEMP) gets false from the stage query: the batch goes in by the array INSERT."""
    monkeypatch.setattr(store, "STAGE_SQL", "SELECT false")
    used = []
    monkeypatch.setattr(store, "insert_rows", lambda *a: used.append(a) or _insert(*a))
    with tenant_context(tenant_alpha):
        stored, refused = store.write([("m", (), "custom", 1.5, 10), ("m", (), "custom", 2.5, 11)])
        assert (stored, refused) == (2, [])
        assert sorted(MetricSample.objects.values_list("value", flat=True)) == [1.5, 2.5]
    assert len(used) == 1


_insert = store.insert_rows
