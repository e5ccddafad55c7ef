"""Rewrap: every encrypted value moves to the target version, in resumable batches,
and old versions can then be trimmed without losing data."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

import audit_mgr as audit
from audit_mgr.models import AuditEntry
from jobs_mgr.models import Job, JobState
from jobs_mgr.tasks import resume_stale_jobs_task
from security_mgr import actions, keyring, rewrap
from security_mgr.tasks import rewrap_task
from tenancy.context import tenant_context
from tests.security_app.models import SecretNote

pytestmark = pytest.mark.django_db


def _versions(tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT body, extra FROM security_app_secretnote WHERE tenant_id = %s", [tenant.pk]
        )
        return {keyring.envelope_version(v) for row in cursor.fetchall() for v in row if v}


def test_rewrap_moves_every_value_resumably_then_trim_is_safe(
    tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_beta):
        SecretNote.objects.create(body="b's")  # another tenant: untouched
    with tenant_context(tenant_alpha):
        notes = [SecretNote.objects.create(body=f"note {i}", extra={"i": i}) for i in range(7)]
        actions.rotate_key(reason="yearly")
        job = rewrap.do_start_rewrap()
        assert job.kind == rewrap.REWRAP and job.state == JobState.QUEUED
        assert job.params["target_version"] == 2 and job.progress_total == 7
        assert _versions(tenant_alpha) == {1}

        rewrap.run_rewrap(job.pk, batch_size=3, max_batches=1)  # "the worker died"
        job.refresh_from_db()
        assert job.state == JobState.RUNNING and job.progress_done == 3
        assert job.checkpoint["values_rewrapped"] == 6  # body and extra of three rows
        # Its lease has not expired: nobody else takes it over meanwhile.
        assert rewrap_task.delay(job.pk, 3).get()["rows_scanned"] == 3

        # Time passes, the lease expires; the beat sweep requeues the job and a worker
        # continues from the saved cursor.
        Job.objects.filter(pk=job.pk).update(
            lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert resume_stale_jobs_task.delay().get() == {tenant_alpha.slug: [job.pk]}
    with tenant_context(tenant_alpha):
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED and job.attempts == 2
        assert job.checkpoint["rows_scanned"] == 7
        assert job.checkpoint["values_rewrapped"] == 14  # each value once, no batch twice
        assert job.progress == 1.0 and "stopped answering" in job.last_error
        assert _versions(tenant_alpha) == {2}
        audit.flush()
        assert AuditEntry.objects.filter(event="key.rewrapped").count() == 1

        actions.set_min_decryption_version(2)
        actions.trim_key(2)
        keyring.forget()
        for i, note in enumerate(notes):
            fresh = SecretNote.objects.get(pk=note.pk)
            assert (fresh.body, fresh.extra) == (f"note {i}", {"i": i})
    with tenant_context(tenant_alpha):
        assert rewrap.rewrap_jobs().count() == 1


def test_bulk_update_cannot_write_plaintext_into_an_encrypted_column(tenant_alpha):
    with tenant_context(tenant_alpha):
        note = SecretNote.objects.create(body="x")
        note.body = "plaintext"
        with pytest.raises(ValueError, match="encrypted"):
            SecretNote.objects.bulk_update([note], ["body"])
        with pytest.raises(ValueError, match="encrypted"):
            SecretNote.objects.filter(pk=note.pk).update(body="plaintext")
