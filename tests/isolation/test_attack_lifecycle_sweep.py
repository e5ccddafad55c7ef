"""Red team, the hourly sweep of expired GDPR archives (lifecycle_mgr.exports.
sweep_expired_exports, sent once per tenant by fan_out): B's sweep — the task run in
B's context, even by hand — must never expire, delete the pieces of, or audit A's
archives; and every tenant's run, pooled or on a database of its own, sweeps its own."""

import datetime as dt

import pytest
from django.utils import timezone

from jobs_mgr import engine
from lifecycle_mgr.exports import request_export, sweep_expired_exports
from lifecycle_mgr.gdpr_models import ExportArchive, ExportChunk, ExportState
from lifecycle_mgr.tasks import sweep_expired_exports_task
from tenancy.context import tenant_context
from tenancy.tasks import fan_out_task
from tests.personas import audit_entries
from tests.scoping_app.models import Document, Folder

pytestmark = pytest.mark.django_db


def _expired_export(tenant, *, expired=True) -> ExportArchive:
    with tenant_context(tenant):
        folder = Folder.objects.create(name=f"{tenant.slug} folder")
        Document.objects.create(folder=folder, title=f"{tenant.slug} doc")
        export, _key = request_export(user_id=None, actor="owner")
        engine.run_job(export.job_id)
        export.refresh_from_db()
        assert export.state == ExportState.READY
        if expired:
            export.expires_at = timezone.now() - dt.timedelta(seconds=1)
            export.save(update_fields=["expires_at"])
        return export


def _ready_row(tenant, *, expired=True) -> ExportArchive:
    now = timezone.now()
    with tenant_context(tenant):
        export = ExportArchive.objects.create(
            state=ExportState.READY,
            sealed_key=b"sealed",
            link_nonce="n" * 32,
            ready_at=now,
            expires_at=now + dt.timedelta(seconds=-1 if expired else 3600),
        )
        ExportChunk.objects.create(export=export, position=0, name="a.jsonl", body=b"x")
        return export


def _state(tenant, export) -> tuple[str, bool]:
    with tenant_context(tenant):
        export.refresh_from_db()
        return export.state, ExportChunk.objects.filter(export=export).exists()


def test_attack_lifecycle_sweep_in_b_leaves_a_expired_archive(tenant_alpha, tenant_beta):
    a_export = _expired_export(tenant_alpha)
    b_export = _expired_export(tenant_beta, expired=False)
    with tenant_context(tenant_beta):
        # B's own sweep, and the task itself run in B's context: nothing of B is due.
        assert sweep_expired_exports() == []
        assert sweep_expired_exports_task.apply().get() == {"expired": []}
        # A's archive id is not B's to sweep, whatever B filters on.
        assert not ExportArchive.objects.filter(pk=a_export.pk).exists()
    assert _state(tenant_alpha, a_export) == (ExportState.READY, True)
    assert _state(tenant_beta, b_export) == (ExportState.READY, True)
    assert audit_entries(tenant_beta, "lifecycle.export_expired") == []
    assert audit_entries(tenant_alpha, "lifecycle.export_expired") == []


def test_attack_lifecycle_sweep_fan_out_sweeps_each_tenant_in_its_own(tenant_alpha, tenant_beta):
    a_export = _expired_export(tenant_alpha)
    b_export = _expired_export(tenant_beta, expired=False)
    assert fan_out_task.apply(args=("lifecycle_mgr.tasks.sweep_expired_exports_task",)).get() >= 2
    assert _state(tenant_alpha, a_export) == (ExportState.EXPIRED, False)
    assert _state(tenant_beta, b_export) == (ExportState.READY, True)
    assert len(audit_entries(tenant_alpha, "lifecycle.export_expired")) == 1
    assert audit_entries(tenant_beta, "lifecycle.export_expired") == []


def test_attack_lifecycle_sweep_dedicated_tenants_sharing_a_database(
    tenant_alpha, tenant_beta, dedicate
):
    """A and B on one database of their own (only RLS and the scoped managers between
    them): B's sweep leaves A's archive; A's sweep, in A's database's transaction, works."""
    alias = dedicate(tenant_alpha)
    dedicate(tenant_beta, share=alias)
    # The archive rows as the job leaves them (the export job itself is not attacked here).
    a_export = _ready_row(tenant_alpha)
    b_export = _ready_row(tenant_beta, expired=False)
    with tenant_context(tenant_beta):
        assert sweep_expired_exports() == []
    assert _state(tenant_alpha, a_export) == (ExportState.READY, True)
    with tenant_context(tenant_alpha):
        assert sweep_expired_exports() == [a_export.pk]
    assert _state(tenant_alpha, a_export) == (ExportState.EXPIRED, False)
    assert _state(tenant_beta, b_export) == (ExportState.READY, True)


def test_attack_lifecycle_sweep_dedicated_export_made_and_swept_in_its_database(
    tenant_alpha, tenant_beta, dedicate
):
    """The whole path on a dedicated A: the export's request, job and sweep run in A's
    database's transactions (before: the job, sent at a commit of the *default*
    database, read the archive before its sealed key was saved), B's sweep in between."""
    dedicate(tenant_alpha)
    a_export = _expired_export(tenant_alpha)
    with tenant_context(tenant_beta):
        assert sweep_expired_exports() == []
    assert _state(tenant_alpha, a_export) == (ExportState.READY, True)
    with tenant_context(tenant_alpha):
        assert sweep_expired_exports() == [a_export.pk]
    assert _state(tenant_alpha, a_export) == (ExportState.EXPIRED, False)
