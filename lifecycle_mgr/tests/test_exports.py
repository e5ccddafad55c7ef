"""GDPR export (Art. 15/20): the archive's content and hashes, resuming after a worker
dies, one running export per tenant, and the once-only, expiring, tenant-bound download."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

import audit_mgr as audit
from jobs_mgr import engine
from jobs_mgr.models import JobState
from lifecycle_mgr import exports_archive as fmt
from lifecycle_mgr.exports import (
    ExportGone,
    ExportNotFound,
    ExportRunning,
    download_link,
    request_export,
    sweep_expired_exports,
    take_download,
)
from lifecycle_mgr.gdpr_models import ExportArchive, ExportChunk, ExportState
from tenancy.context import tenant_context
from tenancy.models import AdminLogEntry
from tests.personas import audit_entries
from tests.scoping_app.models import Document, Folder
from tests.security_app.models import SecretNote

pytestmark = pytest.mark.django_db


def _fill(tenant, user, folders=2, documents=5):
    with tenant_context(tenant):
        for f in range(folders):
            folder = Folder.objects.create(name=f"{tenant.slug} folder {f}")
            Document.objects.bulk_create(
                [Document(folder=folder, title=f"doc {f}.{d}") for d in range(documents)]
            )
        SecretNote.objects.create(owner=str(user.pk), body="secret body")
        AdminLogEntry.objects.create(user=user, object_repr="by user", action_flag=1)


def _export(tenant, user_id=None, **run):
    with tenant_context(tenant):
        export, key = request_export(user_id=user_id, actor="owner")
        job = engine.run_job(export.job_id, **run)
        export.refresh_from_db()
    return export, base64.urlsafe_b64decode(key), job


def _download(tenant, export):
    with tenant_context(tenant):
        return take_download(download_link(export), actor="owner")[1]


def _lines(files, name) -> list[dict]:
    return [json.loads(line) for line in files[name].decode().splitlines()]


def test_export_tenant_archive_holds_every_model_with_counts_hashes_and_proofs(
    tenant_alpha, tenant_beta, alpha_owner, beta_owner
):
    _fill(tenant_alpha, alpha_owner)
    _fill(tenant_beta, beta_owner, folders=3)
    export, key, job = _export(tenant_alpha)
    assert job.state == JobState.SUCCEEDED and export.state == ExportState.READY

    files = fmt.read_archive(_download(tenant_alpha, export), key)  # checks every hash

    manifest = json.loads(files[fmt.MANIFEST])
    assert manifest["counts"]["scoping_app.Folder.jsonl"] == 2
    assert manifest["counts"]["scoping_app.Document.jsonl"] == 10
    folders = _lines(files, "scoping_app.Folder.jsonl")
    assert {f["tenant_id"] for f in folders} == {tenant_alpha.pk}  # nothing of beta
    assert _lines(files, "security_app.SecretNote.jsonl")[0]["body"] == "secret body"
    assert "security_mgr.DataKey.jsonl" not in files  # key material is never exported
    proofs = json.loads(files[fmt.PROOFS])
    head = proofs["tree_head"]
    assert proofs["inclusion"]
    for proof in proofs["inclusion"]:
        assert audit.verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            proof["index"],
            head["tree_size"],
            [bytes.fromhex(h) for h in proof["proof"]],
            bytes.fromhex(head["root_hash"]),
        )


def test_export_archive_does_not_open_with_another_key_or_altered(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    export, key, _job = _export(tenant_alpha)
    data = _download(tenant_alpha, export)
    with pytest.raises(fmt.ArchiveInvalid):
        fmt.read_archive(data, fmt.new_key())
    altered = bytearray(data)
    altered[-5] ^= 1
    with pytest.raises(fmt.ArchiveInvalid):
        fmt.read_archive(bytes(altered), key)


def test_export_user_holds_only_that_users_rows(tenant_alpha, alpha_owner, alpha_viewer):
    _fill(tenant_alpha, alpha_owner)
    _fill(tenant_alpha, alpha_viewer, folders=0)
    export, key, _job = _export(tenant_alpha, user_id=alpha_viewer.pk)
    files = fmt.read_archive(_download(tenant_alpha, export), key)
    history = _lines(files, "tenancy.AdminLogEntry.jsonl")
    assert [h["user_id"] for h in history] == [alpha_viewer.pk]
    assert "scoping_app.Folder.jsonl" not in files  # tenant data, not the user's
    account = json.loads(files["account.json"])
    assert account["username"] == alpha_viewer.username
    assert account["memberships"][0]["role"]


def test_export_resumes_after_its_worker_dies_and_writes_each_piece_once(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner, folders=3, documents=9)
    with tenant_context(tenant_alpha):
        export, key = request_export(actor="owner")
        job = engine.run_job(export.job_id, max_steps=3, options={"batch_size": 4})
        assert job.state == JobState.RUNNING and 0 < job.progress_done < job.progress_total
        written = ExportChunk.objects.filter(export=export).count()
        assert written == 2  # step 1 plans, steps 2 and 3 write a piece each
        job.lease_expires_at = timezone.now() - dt.timedelta(seconds=1)  # the worker died
        job.save(update_fields=["lease_expires_at"])
        job = engine.run_job(export.job_id, options={"batch_size": 4})
        assert job.state == JobState.SUCCEEDED
        assert job.progress_done == job.progress_total
        positions = list(
            ExportChunk.objects.filter(export=export).values_list("position", flat=True)
        )
        assert sorted(positions) == list(range(len(positions)))
        export.refresh_from_db()
    files = fmt.read_archive(_download(tenant_alpha, export), base64.urlsafe_b64decode(key))
    assert len(_lines(files, "scoping_app.Document.jsonl")) == 27


def test_export_second_request_while_one_runs_is_refused(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        first, _key = request_export(actor="owner")
        with pytest.raises(ExportRunning):
            request_export(actor="owner")
        assert ExportArchive.objects.count() == 1
    with tenant_context(tenant_beta):
        request_export(actor="owner")  # another tenant is not blocked
    with tenant_context(tenant_alpha):
        engine.run_job(first.job_id)
        request_export(actor="owner")  # the first is ready: a new one may start


def test_export_failed_job_does_not_block_the_next(tenant_alpha):
    with tenant_context(tenant_alpha):
        first, _key = request_export(actor="owner")
        from jobs_mgr.actions import cancel_job

        cancel_job(first.job_id, actor="owner")
        second, _key = request_export(actor="owner")
        first.refresh_from_db()
        assert first.state == ExportState.FAILED and second.state == ExportState.RUNNING


def test_export_download_is_once_only(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    export, _key, _job = _export(tenant_alpha)
    token = download_link(export)
    with tenant_context(tenant_alpha):
        take_download(token)
        with pytest.raises(ExportGone):
            take_download(token)
        assert not ExportChunk.objects.filter(export=export).exists()  # nothing kept


def test_export_download_after_expiry_is_gone(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    export, _key, _job = _export(tenant_alpha)
    with tenant_context(tenant_alpha):
        export.expires_at = timezone.now() - dt.timedelta(seconds=1)
        export.save(update_fields=["expires_at"])
        with pytest.raises(ExportGone):
            take_download(download_link(export))


def test_export_sweep_deletes_expired_unfetched_archives_of_its_tenant_only(
    tenant_alpha, tenant_beta, alpha_owner, beta_owner
):
    _fill(tenant_alpha, alpha_owner)
    _fill(tenant_beta, beta_owner)
    expired, _key, _job = _export(tenant_alpha)
    with tenant_context(tenant_alpha):
        expired.expires_at = timezone.now() - dt.timedelta(seconds=1)
        expired.save(update_fields=["expires_at"])
    token = download_link(expired)
    beta_export, _key, _job = _export(tenant_beta)
    with tenant_context(tenant_beta):
        beta_export.expires_at = timezone.now() - dt.timedelta(seconds=1)
        beta_export.save(update_fields=["expires_at"])
    with tenant_context(tenant_alpha):
        assert sweep_expired_exports() == [expired.pk]
        assert sweep_expired_exports() == []  # nothing left to sweep
        expired.refresh_from_db()
        assert expired.state == ExportState.EXPIRED
        assert not ExportChunk.objects.filter(export=expired).exists()
        with pytest.raises(ExportGone):
            take_download(token)
    (entry,) = audit_entries(tenant_alpha, "lifecycle.export_expired")
    assert f'"export":{expired.pk}' in entry.data.replace(" ", "")
    with tenant_context(tenant_beta):  # another tenant's sweep runs in its own context
        beta_export.refresh_from_db()
        assert beta_export.state == ExportState.READY
        assert ExportChunk.objects.filter(export=beta_export).exists()


def test_export_sweep_keeps_a_ready_archive_whose_link_is_still_valid(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    export, _key, _job = _export(tenant_alpha)
    with tenant_context(tenant_alpha):
        assert sweep_expired_exports() == []
        export.refresh_from_db()
        assert export.state == ExportState.READY
        assert _download(tenant_alpha, export)


def test_export_sweep_needs_a_tenant():
    from tenancy.exceptions import TenantContextMissing

    with pytest.raises(TenantContextMissing):
        sweep_expired_exports()


def test_export_link_of_another_tenant_or_forged_is_not_found(
    tenant_alpha, tenant_beta, alpha_owner
):
    _fill(tenant_alpha, alpha_owner)
    export, _key, _job = _export(tenant_alpha)
    token = download_link(export)
    with tenant_context(tenant_beta):
        with pytest.raises(ExportNotFound):
            take_download(token)
        assert not ExportArchive.objects.filter(pk=export.pk).exists()
    with tenant_context(tenant_alpha):
        with pytest.raises(ExportNotFound):
            take_download(token[:-2] + "xx")
        export.refresh_from_db()
        assert export.state == ExportState.READY  # still downloadable by its tenant


def test_export_user_in_a_dedicated_tenant_whose_database_holds_no_users(
    dedicate, tenant_beta, beta_owner, beta_viewer
):
    """Issue 17: users live in the default database only; the archive's link to its data
    subject has no database constraint, so the request is accepted there."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    alias = dedicate(tenant_beta)
    assert not get_user_model().objects.using(alias).exists()
    _fill(tenant_beta, beta_viewer, folders=0)
    export, key, _job = _export(tenant_beta, user_id=beta_viewer.pk)
    assert export._state.db == alias and export.user_id == beta_viewer.pk
    assert export.state == ExportState.READY
    files = fmt.read_archive(_download(tenant_beta, export), key)
    history = _lines(files, "tenancy.AdminLogEntry.jsonl")
    assert [h["user_id"] for h in history] == [beta_viewer.pk]
    assert json.loads(files["account.json"])["username"] == beta_viewer.username
