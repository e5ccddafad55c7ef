"""Committed test data: a tenant whose audit rows are really committed (so another
connection, the owner's, can edit them, and the sequencer's after-commit path runs),
removed afterwards as the owner."""

import contextlib
import os

import psycopg
from django.db import connection

from tenancy.db.proof import claim_on
from tenancy.models import Tenant
from tests.markers import database_owner_only

POSTGRES = connection.vendor == "postgresql"

needs_owner = database_owner_only("to edit the table as its owner")


@contextlib.contextmanager
def committed_tenant(django_db_blocker, slug):
    """A tenant whose audit entries are really committed, so that another connection
    (the owner's) can edit them; removed afterwards as the owner."""
    with django_db_blocker.unblock():
        tenant = Tenant.objects.create(slug=slug, name=slug)
        try:
            yield tenant
        finally:
            _purge(tenant)
            Tenant.objects.filter(pk=tenant.pk).delete()


TABLES = [
    "lifecycle_mgr_exportchunk",
    "lifecycle_mgr_exportarchive",
    "lifecycle_mgr_erasurecertificate",
    "ai_mgr_aliasevent",
    "ai_mgr_modelalias",
    "ai_mgr_modelversion",
    "ai_mgr_mlmodel",
    "workflow_mgr_steprun",
    "workflow_mgr_workflowrun",
    "scoping_app_folder",
    "jobs_mgr_job",
    "security_mgr_pendingauditentry",
    "security_mgr_securityevent",
    "security_mgr_auditnode",
    "security_mgr_auditentry",
    "security_mgr_signedtreehead",
    "security_mgr_auditloghead",
    "security_mgr_datakey",
    "security_mgr_keyring",
    "security_app_secretnote",
    "perf_mgr_metricanomaly",
    "perf_mgr_recommendation",
    "perf_mgr_metricsample",
    "perf_mgr_metricrollup",
    "perf_mgr_metricseries",
    "perf_mgr_rollupcursor",
    "perf_mgr_seriesguard",
]


def _purge(tenant):
    if POSTGRES:
        # As the owner (the runtime role may not delete audit entries), inside the
        # tenant (FORCEd row-level security applies to the owner too).
        with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
            claim_on(conn, str(tenant.pk))
            for table in TABLES:
                conn.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
    else:
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])


def edit_as_owner(tenant, sql, params):
    """What someone with direct database access does: the owner role on PostgreSQL
    (it owns the table, so the runtime role's missing UPDATE right does not stop it)."""
    if POSTGRES:
        with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
            claim_on(conn, str(tenant.pk))
            assert conn.execute(sql, params).rowcount == 1
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            assert cursor.rowcount == 1


def delete_as_owner(tenant, table):
    """Delete every row of the tenant in `table`, as someone with database access."""
    if POSTGRES:
        with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
            claim_on(conn, str(tenant.pk))
            conn.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])


def committed_pending(tenant) -> list[int]:
    """Ids of the tenant's pending audit rows as another connection sees them: only
    what is committed."""
    sql = "SELECT id FROM security_mgr_pendingauditentry WHERE tenant_id = %s ORDER BY id"
    if POSTGRES:
        with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
            claim_on(conn, str(tenant.pk))
            return [row[0] for row in conn.execute(sql, [tenant.pk])]
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant.pk])
        return [row[0] for row in cursor.fetchall()]


def delete_committed_tenant(tenant_id: int) -> None:
    """Remove a committed tenant and what it holds from its creation on (its key ring),
    for fixtures that commit tenants for a worker to see."""
    tenant = Tenant.objects.get(pk=tenant_id)
    _purge(tenant)
    Tenant.objects.filter(pk=tenant_id).delete()
