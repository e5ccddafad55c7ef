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
    """Why the ingest is an INSERT of arrays and not COPY: PostgreSQL refuses it."""
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
