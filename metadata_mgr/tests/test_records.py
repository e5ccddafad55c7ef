"""Records: create, versions with change descriptions and major.minor numbers, diff,
rollback, soft delete and restore, refusals that write nothing, one audit entry per
change, one outbox row per change."""

import json

import pytest

from metadata_mgr import actions, selectors
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import MetadataOutbox, Record, RecordVersion
from tests.personas import audit_entries

pytestmark = pytest.mark.django_db


def create(**fields):
    fields.setdefault("metadata_type", "business")
    fields.setdefault("content", {"table": "users", "columns": ["id", "email"]})
    return actions.do_create_record(actor="alice", **fields)


def counts():
    return (
        Record.objects.count(),
        RecordVersion.objects.count(),
        MetadataOutbox.objects.count(),
    )


def test_create_record_is_version_one_with_outbox_and_audit(in_alpha):
    record = create(name="users", tags=["pii", "core"], owner="data-team")
    assert record.version == "1.0" and record.version_seq == 1
    stored = selectors.get_record(record.pk)
    assert stored.content == {"table": "users", "columns": ["id", "email"]}
    assert stored.tags == ["pii", "core"] and stored.owner == "data-team"
    version = selectors.latest_version(stored)
    assert (version.seq, version.label, version.op) == (1, "1.0", "create")
    assert version.document["content"] == stored.content
    assert [o.op for o in MetadataOutbox.objects.filter(record_id=record.pk)] == ["upsert"]
    (entry,) = audit_entries(in_alpha, "metadata.record.created")
    payload = json.loads(entry.data)["payload"]
    assert payload["record"] == str(record.pk) and payload["version"] == "1.0"
    assert "/content" in payload["paths"] and "email" not in entry.data  # paths, no values


def test_create_record_name_from_content_or_generated(in_alpha):
    named = create(content={"name": "Customer Data", "schema": "v2.0"})
    assert named.name == "Customer Data"
    anonymous = create(content={"x": 1}, metadata_type="technical")
    assert anonymous.name.startswith("technical-")


def test_create_record_duplicate_live_name_is_409_and_writes_nothing(in_alpha):
    create(name="users")
    before = counts()
    with pytest.raises(MetadataError) as refused:
        create(name="users")
    assert refused.value.status == 409 and refused.value.code == "name_taken"
    assert counts() == before
    assert len(audit_entries(in_alpha, "metadata.record.created")) == 1


@pytest.mark.parametrize(
    "fields,code,status",
    [
        ({"content": ["not", "an", "object"]}, "invalid_content", 400),
        ({"content": None}, "invalid_content", 400),
        ({"content": {"n": float("nan")}}, "invalid_json", 400),
        ({"content": {"when": object()}}, "invalid_json", 400),
        ({"metadata_type": "poetry"}, "invalid_type", 400),
        ({"tags": ["ok", "bad|tag"]}, "invalid_tags", 400),
        ({"tags": "not-a-list"}, "invalid_tags", 400),
        ({"name": "  "}, "invalid_name", 400),
        ({"subject": "nobody"}, "unknown_subject", 400),
    ],
)
def test_create_record_bad_input_names_the_problem(in_alpha, fields, code, status):
    with pytest.raises(MetadataError) as refused:
        create(**fields)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert counts() == (0, 0, 0)


def test_create_record_oversized_is_413(in_alpha, settings):
    settings.METADATA_MAX_CONTENT_BYTES = 100
    with pytest.raises(MetadataError) as refused:
        create(content={"blob": "x" * 200})
    assert refused.value.status == 413 and refused.value.code == "content_too_large"
    assert "100" in refused.value.message
    assert counts() == (0, 0, 0)


def test_update_record_minor_bump_with_change_description(in_alpha):
    record = create(name="users", content={"table": "users", "rows": 10})
    record, version = actions.do_update_record(
        record.pk, content={"table": "users", "rows": 12, "owner_team": "x"}, actor="alice"
    )
    assert record.version == "1.1" and version.label == "1.1" and not version.breaking
    assert version.changes == [
        {"op": "changed", "path": "/content/rows", "old": 10, "new": 12},
        {"op": "added", "path": "/content/owner_team", "new": "x"},
    ]
    assert (version.added, version.changed, version.removed) == (1, 1, 0)


@pytest.mark.parametrize(
    "new_content,why",
    [
        ({"table": "users"}, "a removed path"),
        ({"table": "users", "rows": "ten"}, "a type change"),
        ({"table": "users", "rows": None}, "a value turned null"),
    ],
)
def test_update_record_breaking_change_bumps_major(in_alpha, new_content, why):
    record = create(content={"table": "users", "rows": 10})
    actions.do_update_record(record.pk, tags=["a"])  # 1.1 first: the bump resets minor
    record, version = actions.do_update_record(record.pk, content=new_content)
    assert version.breaking, why
    assert record.version == "2.0" and version.seq == 3


def test_update_record_attributes_are_versioned_too(in_alpha):
    record = create(name="users", owner="a")
    record, version = actions.do_update_record(record.pk, owner="b", tags=["x"], name="people")
    assert record.version == "1.1"
    assert {c["path"] for c in version.changes} == {"/owner", "/tags/0", "/name"}


def test_update_record_nothing_changed_writes_no_version(in_alpha):
    record = create()
    before = counts()
    record, version = actions.do_update_record(record.pk, content=record.content)
    assert version is None and record.version == "1.0"
    assert counts() == before


def test_diff_between_any_two_versions_both_directions(in_alpha):
    record = create(content={"a": 1, "b": [1, 2]})
    actions.do_update_record(record.pk, content={"a": 2, "b": [1, 2, 3]})
    actions.do_update_record(record.pk, content={"b": [1]})
    forward = selectors.diff_versions(record, 1, 3)
    assert forward["breaking"] and forward["to"]["label"] == "2.0"
    assert {(c["op"], c["path"]) for c in forward["changes"]} == {
        ("removed", "/content/a"),
        ("removed", "/content/b/1"),
    }
    backward = selectors.diff_versions(record, "2.0", "1.0")
    assert {(c["op"], c["path"]) for c in backward["changes"]} == {
        ("added", "/content/a"),
        ("added", "/content/b/1"),
    }


def test_rollback_creates_a_new_version_equal_to_n(in_alpha):
    record = create(name="users", content={"a": 1}, tags=["t"])
    actions.do_update_record(record.pk, content={"a": 1, "b": 2}, tags=["u"], owner="o")
    actions.do_update_record(record.pk, content={"c": 3})
    record, version = actions.do_rollback_record(record.pk, "1.0", actor="alice")
    assert version.op == "rollback" and version.rolled_back_to == 1 and version.seq == 4
    first = selectors.version_of(record, 1)
    assert version.document == first.document
    assert record.content == {"a": 1} and record.tags == ["t"] and record.owner == ""
    assert record.version == "3.0"  # from 2.0, removing /content/c is breaking
    assert len(audit_entries(in_alpha, "metadata.record.rolled_back")) == 1


@pytest.mark.parametrize(
    "ref,status,code",
    [
        (9, 404, "version_not_found"),
        ("7.3", 404, "version_not_found"),
        ("first", 400, "invalid_version"),
    ],
)
def test_rollback_to_missing_version_is_refused_and_writes_nothing(in_alpha, ref, status, code):
    record = create()
    before = counts()
    with pytest.raises(MetadataError) as refused:
        actions.do_rollback_record(record.pk, ref)
    assert (refused.value.status, refused.value.code) == (status, code)
    if status == 404:
        assert str(ref) in refused.value.message and "1 to 1" in refused.value.message
    assert counts() == before


def test_delete_and_restore_record(in_alpha):
    record = create(name="users")
    actions.do_delete_record(record.pk, actor="alice")
    assert not selectors.records().exists()
    assert selectors.records(deleted="1").get().pk == record.pk
    with pytest.raises(MetadataError) as refused:
        actions.do_update_record(record.pk, owner="x")
    assert refused.value.code == "record_deleted"
    reused = create(name="users")  # a deleted record's name is free
    with pytest.raises(MetadataError) as refused:
        actions.do_restore_record(record.pk)
    assert refused.value.code == "name_taken"
    actions.do_delete_record(reused.pk)
    restored = actions.do_restore_record(record.pk)
    assert restored.deleted_at is None
    ops = list(MetadataOutbox.objects.filter(record_id=record.pk).values_list("op", flat=True))
    assert ops == ["upsert", "delete", "upsert"]
    events = [e.event for e in audit_entries(in_alpha) if e.event.startswith("metadata.")]
    assert events.count("metadata.record.deleted") == 2
    assert events.count("metadata.record.restored") == 1


def test_filters_by_type_tag_owner(in_alpha):
    create(name="a", metadata_type="schema", tags=["pii"], owner="x")
    create(name="b", metadata_type="business", tags=["pii-like"], owner="y")
    assert [r.name for r in selectors.records(tag="pii")] == ["a"]
    assert [r.name for r in selectors.records(metadata_type="business")] == ["b"]
    assert [r.name for r in selectors.records(owner="x")] == ["a"]


def test_record_of_other_tenant_is_not_found(in_alpha, tenant_beta):
    from tenancy.context import tenant_context

    record = create(name="users")
    with tenant_context(tenant_beta):
        assert selectors.get_record(record.pk) is None
        with pytest.raises(MetadataError) as refused:
            actions.do_update_record(record.pk, owner="x")
        assert refused.value.status == 404
        with pytest.raises(MetadataError):
            actions.do_rollback_record(record.pk, 1)
