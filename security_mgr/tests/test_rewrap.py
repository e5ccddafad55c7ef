"""Rewrap: every encrypted value moves to the target version, in resumable batches,
and old versions can then be trimmed without losing data."""

import pytest
from django.db import connection

from security_mgr import actions, keyring, rewrap
from security_mgr.models import RewrapJob, RewrapStatus
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


def test_rewrap_moves_every_value_resumably_then_trim_is_safe(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        SecretNote.objects.create(body="b's")  # another tenant: untouched
    with tenant_context(tenant_a):
        notes = [SecretNote.objects.create(body=f"note {i}", extra={"i": i}) for i in range(7)]
        actions.rotate_key(reason="yearly")
        job = rewrap.start_rewrap()
        assert job.target_version == 2 and job.rows_total == 7
        assert _versions(tenant_a) == {1}

        rewrap.run_rewrap(job.pk, batch_size=3, max_batches=1)  # "the worker died"
        job.refresh_from_db()
        assert job.status == RewrapStatus.RUNNING and job.rows_scanned == 3
        assert job.values_rewrapped == 6  # body and extra of three rows

        rewrap_task.delay(job.pk, 3)  # resumes from the saved cursor
        job.refresh_from_db()
        assert job.status == RewrapStatus.DONE and job.rows_scanned == 7
        assert job.progress == 1.0
        assert _versions(tenant_a) == {2}

        actions.set_min_decryption_version(2)
        actions.trim_key(2)
        keyring.forget()
        for i, note in enumerate(notes):
            fresh = SecretNote.objects.get(pk=note.pk)
            assert (fresh.body, fresh.extra) == (f"note {i}", {"i": i})
    with tenant_context(tenant_a):
        assert RewrapJob.objects.count() == 1


def test_bulk_update_cannot_write_plaintext_into_an_encrypted_column(tenant_a):
    with tenant_context(tenant_a):
        note = SecretNote.objects.create(body="x")
        note.body = "plaintext"
        with pytest.raises(ValueError, match="encrypted"):
            SecretNote.objects.bulk_update([note], ["body"])
        with pytest.raises(ValueError, match="encrypted"):
            SecretNote.objects.filter(pk=note.pk).update(body="plaintext")
