"""Content at rest: zstd above the threshold, sealing with the tenant's key for
sensitive records (through tenancy.hooks, provided by the security feature), versions
sealed alike, sealing bound to the row, and the rewrap job moving sealed bodies to a
new key version."""

import pytest

from metadata_mgr import actions, codec, selectors
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import Record, RecordVersion

pytestmark = pytest.mark.django_db

SECRET = "4111-1111-1111-1111"


def raw(model, pk) -> bytes:
    return bytes(model.objects.filter(pk=pk).values_list("body", flat=True).get())


def test_large_content_is_compressed_and_reads_back(in_alpha, settings):
    settings.METADATA_COMPRESS_MIN_BYTES = 256
    content = {"rows": [{"id": i, "name": "customer"} for i in range(200)]}
    record = actions.do_create_record(metadata_type="technical", content=content, name="big")
    stored = Record.objects.get(pk=record.pk)
    assert stored.codec == codec.ZSTD
    assert len(raw(Record, record.pk)) < stored.content_bytes / 5
    assert selectors.get_record(record.pk).content == content
    version = selectors.latest_version(stored)
    assert version.codec == codec.ZSTD and version.document["content"] == content


def test_small_content_is_stored_plain(in_alpha):
    record = actions.do_create_record(metadata_type="business", content={"a": 1}, name="s")
    assert Record.objects.get(pk=record.pk).codec == 0
    assert raw(Record, record.pk) == b'{"a":1}'


def test_sensitive_record_is_sealed_in_record_and_versions(in_alpha):
    record = actions.do_create_record(
        metadata_type="business", content={"card": SECRET}, name="cards", sensitive=True
    )
    actions.do_update_record(record.pk, content={"card": SECRET, "cvv": "123"})
    assert SECRET.encode() not in raw(Record, record.pk)
    for version in RecordVersion.objects.filter(record_id=record.pk):
        assert version.codec & codec.SEALED
        assert SECRET.encode() not in raw(RecordVersion, version.pk)
    fresh = selectors.get_record(record.pk)
    assert fresh.content == {"card": SECRET, "cvv": "123"}
    assert selectors.version_of(fresh, 1).document["content"] == {"card": SECRET}


def test_marking_a_record_sensitive_seals_its_history_and_back(in_alpha):
    record = actions.do_create_record(metadata_type="business", content={"card": SECRET})
    actions.do_update_record(record.pk, content={"card": SECRET, "x": 1})
    record, version = actions.do_update_record(record.pk, sensitive=True)
    assert version is None and record.version == "1.1"  # not a change of the document
    bodies = [raw(RecordVersion, v.pk) for v in RecordVersion.objects.filter(record_id=record.pk)]
    assert len(bodies) == 2 and all(SECRET.encode() not in b for b in bodies)
    actions.do_update_record(record.pk, sensitive=False)
    assert SECRET.encode() in raw(Record, record.pk)
    assert selectors.version_of(selectors.get_record(record.pk), 1).document["content"] == {
        "card": SECRET
    }


def test_sealed_body_copied_to_another_record_does_not_open(in_alpha):
    one = actions.do_create_record(
        metadata_type="business", content={"a": SECRET}, name="one", sensitive=True
    )
    two = actions.do_create_record(
        metadata_type="business", content={"b": 2}, name="two", sensitive=True
    )
    Record.objects.filter(pk=two.pk).update(body=raw(Record, one.pk))
    with pytest.raises(MetadataError) as refused:
        selectors.get_record(two.pk).content
    assert refused.value.code == "decryption_failed"


def test_sensitive_record_cannot_be_read_in_another_tenant_context(in_alpha, tenant_beta):
    """Even handed the row (as a platform job would be), beta's key does not open it."""
    from tenancy.context import tenant_context

    record = actions.do_create_record(
        metadata_type="business", content={"a": SECRET}, name="one", sensitive=True
    )
    row = Record.objects.get(pk=record.pk)
    with tenant_context(tenant_beta), pytest.raises(MetadataError):
        codec.decode(
            row.body, row.codec, codec.aad(tenant_beta.pk, "metadata_mgr.record", "body", row.pk)
        )


def test_rewrap_moves_sealed_bodies_to_the_new_key_version(in_alpha):
    from security_mgr import actions as security_actions
    from security_mgr import crypto
    from security_mgr.rewrap import do_start_rewrap, run_rewrap

    record = actions.do_create_record(
        metadata_type="business", content={"a": SECRET}, name="one", sensitive=True
    )
    plain = actions.do_create_record(metadata_type="business", content={"b": 1}, name="two")
    assert crypto.parse_envelope(raw(Record, record.pk)).version == 1
    security_actions.rotate_key()
    job = do_start_rewrap(send=False)
    run_rewrap(job.pk)
    assert crypto.parse_envelope(raw(Record, record.pk)).version == 2
    version = RecordVersion.objects.get(record_id=record.pk)
    assert crypto.parse_envelope(raw(RecordVersion, version.pk)).version == 2
    assert selectors.get_record(record.pk).content == {"a": SECRET}
    assert raw(Record, plain.pk) == b'{"b":1}'  # plain bodies untouched
