"""The export job run by a real Celery worker (its own thread and database connection):
requested as the API does, sent after the commit, finished by the worker."""

import base64

import pytest

from lifecycle_mgr import exports_archive as fmt
from lifecycle_mgr.exports import download_link, request_export, take_download
from lifecycle_mgr.gdpr_models import ExportArchive, ExportState
from tenancy.context import tenant_context
from tests.markers import postgres_only
from tests.outages import wait_until
from tests.scoping_app.models import Folder

# The worker thread opens its own connection: the embedded test database (SQLite in
# memory) is not shared with it; the job itself is tested on both (test_exports.py).
pytestmark = postgres_only("a worker thread reading committed rows on its own connection")


@pytest.fixture
def committed_tenant(django_db_setup, django_db_blocker):
    from tenancy.models import Tenant
    from tests.committed import delete_committed_tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.create(slug="gdpr-worker", name="GDPR worker")
        yield tenant
        delete_committed_tenant(tenant.pk)


def test_export_job_runs_on_a_real_worker_and_downloads_once(
    real_worker, committed_tenant, django_db_blocker
):
    with django_db_blocker.unblock(), tenant_context(committed_tenant):
        Folder.objects.bulk_create([Folder(name=f"folder {n}") for n in range(25)])
        export, key = request_export(actor="owner")
        wait_until(
            lambda: ExportArchive.objects.get(pk=export.pk).state == ExportState.READY,
            "the worker finishes the export",
            60,
        )
        export.refresh_from_db()
        assert export.job.progress_done == export.job.progress_total >= 25
        _export, data = take_download(download_link(export))
    files = fmt.read_archive(data, base64.urlsafe_b64decode(key))
    assert files["scoping_app.Folder.jsonl"].count(b"\n") == 25
