"""Bulk import: every line imported or rejected with its reason, progress, checkpoint
and resume after a worker dies mid-job, the command and the API upload."""

import json

import pytest
from django.core.management import CommandError, call_command

from jobs_mgr.engine import run_job
from jobs_mgr.models import Job
from metadata_mgr import actions
from metadata_mgr.models import ImportRejection, MetadataOutbox, Record, RecordVersion
from tenancy.context import tenant_context
from tests.personas import api_as, audit_entries

pytestmark = pytest.mark.django_db


def jsonl(*rows) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode() + b"\n"


GOOD = {"metadata_type": "business", "content": {"name": "a"}}
FILE = jsonl(
    GOOD,  # 1
    "{not json",  # 2
    {"metadata_type": "business", "content": [1]},  # 3: content not an object
    "",  # 4: blank, skipped
    {"metadata_type": "technical", "content": {"x": 1}, "name": "a"},  # 5: name taken (line 1)
    {"metadata_type": "schema", "content": {}, "subject": "ghost"},  # 6: unknown subject
    {"metadata_type": "schema", "content": {}, "colour": "red"},  # 7: unknown field
    {"metadata_type": "schema", "content": {}, "tenant_id": "beta"},  # 8: another tenant
    {"metadata_type": "schema", "content": {"k": "v"}, "name": "b", "tags": ["t"]},  # 9
    {"metadata_type": "schema", "content": {}, "tenant_id": "alpha", "name": "c"},  # 10
)


def test_import_imports_the_rest_and_rejects_each_bad_line_with_reason(in_alpha):
    imported, job = actions.do_start_import(FILE, filename="f.jsonl", actor="alice", send=False)
    job = run_job(job.pk)
    assert job.state == "succeeded"
    assert job.result == {"import": str(imported.pk), "lines": 10, "imported": 3, "rejected": 6}
    assert (job.progress_done, job.progress_total) == (10, 10)
    rejected = {r.line: r.code for r in ImportRejection.objects.filter(import_id=imported.pk)}
    assert rejected == {
        2: "invalid_json",
        3: "invalid_content",
        5: "name_taken",
        6: "unknown_subject",
        7: "unknown_field",
        8: "tenant_mismatch",
    }
    assert sorted(Record.objects.values_list("name", flat=True)) == ["a", "b", "c"]
    assert RecordVersion.objects.count() == MetadataOutbox.objects.count() == 3
    assert len(audit_entries(in_alpha, "metadata.record.created")) == 3


def test_import_resumes_from_its_checkpoint_after_a_dead_worker(in_alpha, settings):
    rows = [{"metadata_type": "business", "content": {"i": i}, "name": f"r{i}"} for i in range(7)]
    imported, job = actions.do_start_import(jsonl(*rows), send=False)
    run_job(job.pk, max_steps=2, options={"batch_size": 2})  # dies after 2 batches
    job = Job.objects.get(pk=job.pk)
    assert job.state == "running" and job.checkpoint["line"] == 4
    assert Record.objects.count() == 4
    Job.objects.filter(pk=job.pk).update(lease_expires_at=job.heartbeat_at)  # the lease ran out
    job = run_job(job.pk, options={"batch_size": 2})
    assert job.state == "succeeded" and job.result["imported"] == 7
    assert Record.objects.count() == RecordVersion.objects.count() == 7  # each line once


def test_import_empty_file_is_400(in_alpha):
    with pytest.raises(Exception) as refused:
        actions.do_start_import(b"  \n\n", send=False)
    assert refused.value.code == "empty_import"


def test_import_command_reports_rejections(tenant_alpha, tmp_path, capsys):
    path = tmp_path / "records.jsonl"
    path.write_bytes(jsonl(GOOD, "{bad"))
    call_command("import_metadata", str(path), "--tenant", "alpha")
    out, err = capsys.readouterr()
    assert "1 imported, 1 rejected of 2 lines" in out
    assert "line 2: invalid_json" in err
    with tenant_context(tenant_alpha):
        assert Record.objects.count() == 1


def test_import_command_unknown_tenant_or_file(tenant_alpha, tmp_path):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_metadata", str(tmp_path / "x"), "--tenant", "nope")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_metadata", str(tmp_path / "missing.jsonl"), "--tenant", "alpha")


@pytest.mark.parametrize("how", ["json", "multipart", "ndjson"])
def test_import_api_upload_runs_a_job(
    alpha_owner, tenant_alpha, how, django_capture_on_commit_callbacks
):
    client = api_as(alpha_owner, tenant_alpha)
    data = jsonl(GOOD, "{bad")
    url = "/api/v1/metadata/imports/"
    # The job is sent once the upload commits; tasks run eagerly in tests.
    with django_capture_on_commit_callbacks(execute=True):
        if how == "json":
            response = client.post(url, {"jsonl": data.decode(), "filename": "x"}, format="json")
        elif how == "multipart":
            from django.core.files.uploadedfile import SimpleUploadedFile

            response = client.post(url, {"file": SimpleUploadedFile("x.jsonl", data)})
        else:
            response = client.post(url, data, content_type="application/x-ndjson")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "queued" and body["job"]
    detail = client.get(f"{url}{body['id']}/").json()
    assert detail["lines"] == 2
    assert (detail["state"], detail["imported"], detail["rejected"]) == ("succeeded", 1, 1)
    rejections = client.get(f"{url}{body['id']}/rejections/").json()["results"]
    assert rejections == [{"line": 2, "code": "invalid_json", "reason": rejections[0]["reason"]}]
    assert "not JSON" in rejections[0]["reason"]


def test_import_api_empty_upload_is_400(alpha_owner, tenant_alpha):
    client = api_as(alpha_owner, tenant_alpha)
    response = client.post("/api/v1/metadata/imports/", {"jsonl": "  "}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "empty_import"
    assert client.post("/api/v1/metadata/imports/", {}, format="json").status_code == 400


def test_imported_records_read_back_like_created_ones(in_alpha, tenant_beta, settings):
    from metadata_mgr import selectors

    settings.METADATA_COMPRESS_MIN_BYTES = 64
    big = {"rows": [{"id": i, "name": "customer"} for i in range(20)]}
    rows = [
        {"metadata_type": "technical", "content": big, "name": "big", "tags": ["a", "b"],
         "owner": "team"},
        {"metadata_type": "business", "content": {"card": "4111-1111"}, "name": "secret",
         "sensitive": True},
    ]  # fmt: skip
    imported, job = actions.do_start_import(jsonl(*rows), actor="alice", send=False)
    assert run_job(job.pk).result["imported"] == 2
    plain, secret = (
        selectors.get_record(Record.objects.get(name="big").pk),
        selectors.get_record(Record.objects.get(name="secret").pk),
    )
    assert plain.content == big and plain.tags == ["a", "b"] and plain.owner == "team"
    assert plain.codec == 1 and plain.version == "1.0" and plain.created_by == "alice"
    assert [r.name for r in selectors.records(tag="b")] == ["big"]
    assert secret.content == {"card": "4111-1111"} and secret.codec & 2
    raw = bytes(Record.objects.filter(pk=secret.pk).values_list("body", flat=True).get())
    assert b"4111" not in raw
    version = selectors.version_of(secret, 1)
    assert version.document["content"] == {"card": "4111-1111"} and version.codec & 2
    assert selectors.version_of(plain, "1.0").changes[0]["op"] == "added"
    with tenant_context(tenant_beta):
        assert not Record.objects.exists() and not RecordVersion.objects.exists()


def test_import_api_text_must_be_text(alpha_owner, tenant_alpha):
    client = api_as(alpha_owner, tenant_alpha)
    response = client.post(
        "/api/v1/metadata/imports/", {"jsonl": 5.0, "filename": 209335}, format="json"
    )
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {
        "jsonl",
        "filename",
    }
