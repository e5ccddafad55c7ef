"""The schema registry's wiring over the real compatibility engine (metadata_mgr.compat,
whose rules have their own tests in tests/compat/): what is checked against what, in
which mode, what is written, what is refused, and records validated against their
subject's version. The `engine` fixture records what the registry asked the engine."""

import json

import pytest

from metadata_mgr import actions, schema_compat, selectors
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import Record, Subject, SubjectVersion
from tests.personas import audit_entries

pytestmark = pytest.mark.django_db

V1 = {"type": "object", "properties": {"table": {"type": "string"}}, "required": ["table"]}
# Compatible under BACKWARD: `table` is no longer required.
V2 = {"type": "object", "properties": {"table": {"type": "string"}}}
# Incompatible under BACKWARD: `table` changes its type (Confluent's TYPE_CHANGED).
RETYPED = {"type": "object", "properties": {"table": {"type": "integer"}}, "required": ["table"]}
# Adds an optional property to an open content model: refused by Confluent's BACKWARD,
# accepted by the open-content-aware policy when no stored record breaks.
ADDS_ROWS = {
    "type": "object",
    "properties": {"table": {"type": "string"}, "rows": {"type": "integer"}},
    "required": ["table"],
}


def test_register_first_version_needs_no_engine(in_alpha):
    version, created = actions.do_register_schema("users-value", V1, actor="alice")
    assert created and version.version == 1 and len(version.fingerprint) == 64
    assert Subject.objects.get(name="users-value").compatibility == ""  # tenant default
    events = [e.event for e in audit_entries(in_alpha) if e.event.startswith("metadata.")]
    assert events == ["metadata.subject.created", "metadata.subject.version_registered"]


def test_register_same_schema_again_returns_the_version(in_alpha):
    first, _ = actions.do_register_schema("s", V1)
    again, created = actions.do_register_schema("s", json.loads(json.dumps(V1)))
    assert not created and again.pk == first.pk
    assert SubjectVersion.objects.count() == 1


def test_register_second_version_runs_the_engine_with_history_and_mode(in_alpha, engine):
    actions.do_register_schema("s", V1)
    version, created = actions.do_register_schema("s", V2)
    assert created and version.version == 2
    (call,) = engine.calls
    assert call["previous"] == [V1] and call["mode"] == "BACKWARD"
    assert call["open_content_aware"] is False and call["existing_records"] is None


def test_register_optional_property_refused_unless_open_content_aware(in_alpha, engine):
    actions.do_register_schema("s", V1)
    with pytest.raises(MetadataError) as refused:
        actions.do_register_schema("s", ADDS_ROWS)
    assert refused.value.extra["reasons"][0]["change_type"] == (
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
    )
    actions.do_set_subject_config("s", open_content_aware=True)
    clash = actions.do_create_record(
        metadata_type="schema", content={"table": "a", "rows": "many"}, subject="s"
    )
    actions.do_create_record(metadata_type="schema", content={"table": "b", "rows": 3}, subject="s")
    answer = actions.check_compatibility("s", ADDS_ROWS)
    assert not answer["compatible"] and answer["breaking_records"] == 1
    with pytest.raises(MetadataError) as refused:
        actions.do_register_schema("s", ADDS_ROWS)
    assert refused.value.extra["breaking_records"] == 1
    actions.do_delete_record(clash.pk)  # only live records count
    answer = actions.check_compatibility("s", ADDS_ROWS)
    assert answer["compatible"] and answer["relaxed"][0]["pointer"] == "#/properties/rows"
    assert actions.do_register_schema("s", ADDS_ROWS)[0].version == 2


def test_register_incompatible_schema_is_409_with_reasons_and_writes_nothing(in_alpha, engine):
    actions.do_register_schema("s", V1)
    with pytest.raises(MetadataError) as refused:
        actions.do_register_schema("s", RETYPED)
    error = refused.value
    assert error.status == 409 and error.code == "incompatible_schema"
    assert error.extra["reasons"] == [
        {
            "change_type": "TYPE_CHANGED",
            "pointer": "#/properties/table",
            "direction": "backward",
            "version": 1,
        }
    ]
    assert SubjectVersion.objects.count() == 1
    assert len(audit_entries(in_alpha, "metadata.subject.version_registered")) == 1


def test_mode_none_registers_anything_without_asking(in_alpha, engine):
    actions.do_register_schema("s", V1)
    actions.do_set_subject_config("s", compatibility="none")
    version, _ = actions.do_register_schema("s", RETYPED)
    assert version.version == 2 and engine.calls == []


def test_mode_from_tenant_setting_then_subject(in_alpha, engine):
    actions.do_register_schema("s", V1)
    actions.do_set_tenant_mode("FULL_TRANSITIVE")
    actions.check_compatibility("s", V2)
    actions.do_set_subject_config("s", compatibility="FORWARD", open_content_aware=True)
    actions.check_compatibility("s", V2)
    actions.do_set_subject_config("s", compatibility="")
    actions.check_compatibility("s", V2)
    assert [c["mode"] for c in engine.calls] == ["FULL_TRANSITIVE", "FORWARD", "FULL_TRANSITIVE"]


def test_open_content_aware_hands_the_engine_the_subjects_records(in_alpha, engine):
    actions.do_register_schema("s", V1)
    actions.do_create_record(metadata_type="schema", content={"table": "a"}, subject="s")
    deleted = actions.do_create_record(metadata_type="schema", content={"table": "b"}, subject="s")
    actions.do_delete_record(deleted.pk)
    actions.do_set_subject_config("s", open_content_aware=True)
    actions.do_register_schema("s", ADDS_ROWS)
    assert engine.calls[-1]["open_content_aware"] is True
    assert engine.calls[-1]["existing_records"] == [{"table": "a"}]


def test_check_compatibility_writes_nothing(in_alpha, engine):
    actions.do_register_schema("s", V1)
    result = actions.check_compatibility("s", RETYPED)
    assert result["compatible"] is False and result["reasons"][0]["pointer"].endswith("table")
    assert result["versions_checked"] == [1]
    assert SubjectVersion.objects.count() == 1
    what_if = actions.check_compatibility("s", RETYPED, mode="NONE")
    assert what_if["compatible"] is True and what_if["mode"] == "NONE"


@pytest.mark.parametrize(
    "schema,code", [({"type": "nope"}, "invalid_schema"), ([1, 2], "invalid_schema")]
)
def test_register_invalid_schema_is_400(in_alpha, schema, code):
    with pytest.raises(MetadataError) as refused:
        actions.do_register_schema("s", schema)
    assert refused.value.code == code and not Subject.objects.exists()


def test_invalid_mode_is_400(in_alpha):
    with pytest.raises(MetadataError) as refused:
        actions.do_set_tenant_mode("SIDEWAYS")
    assert refused.value.code == "invalid_mode"


def test_register_schema_the_engine_cannot_read_is_400(in_alpha, engine):
    actions.do_register_schema("s", V1)
    with pytest.raises(MetadataError) as refused:
        actions.do_register_schema("s", {"$ref": "#/definitions/missing"})
    assert refused.value.status == 400 and refused.value.code == "invalid_schema"
    assert SubjectVersion.objects.count() == 1


def test_engine_missing_is_a_clear_503_only_when_needed(in_alpha, monkeypatch):
    monkeypatch.setattr(schema_compat, "CHECKER", "metadata_mgr.no_such_engine.checker")
    actions.do_register_schema("s", V1)  # a first version needs no engine
    with pytest.raises(schema_compat.CompatEngineMissing) as missing:
        actions.do_register_schema("s", V2)
    assert missing.value.status == 503 and "no_such_engine" in missing.value.message


def test_record_validated_against_its_subject_version(in_alpha):
    actions.do_register_schema("s", V1)
    record = actions.do_create_record(
        metadata_type="schema", content={"table": "users"}, subject="s"
    )
    assert record.subject_version.version == 1
    with pytest.raises(MetadataError) as refused:
        actions.do_create_record(metadata_type="schema", content={"table": 5}, subject="s")
    assert refused.value.code == "schema_violation" and refused.value.extra["pointer"] == "/table"
    with pytest.raises(MetadataError) as refused:
        actions.do_update_record(record.pk, content={"rows": 1})
    assert refused.value.code == "schema_violation" and "required" in refused.value.message
    assert Record.objects.count() == 1 and selectors.get_record(record.pk).version == "1.0"


def test_record_moves_to_a_new_subject_version_as_a_minor_change(in_alpha, engine):
    actions.do_register_schema("s", V1)
    record = actions.do_create_record(metadata_type="schema", content={"table": "u"}, subject="s")
    actions.do_register_schema("s", V2)
    record, version = actions.do_update_record(
        record.pk, content={"table": "u", "rows": 3}, subject_version="latest"
    )
    assert record.subject_version.version == 2 and record.version == "1.1"
    record, version = actions.do_update_record(record.pk, subject=None)
    assert version.breaking and record.version == "2.0"


def test_subject_without_version_and_unknown_version(in_alpha):
    actions.do_create_subject("empty")
    with pytest.raises(MetadataError) as refused:
        actions.do_create_record(metadata_type="schema", content={}, subject="empty")
    assert refused.value.code == "subject_has_no_version"
    actions.do_register_schema("s", V1)
    with pytest.raises(MetadataError) as refused:
        actions.do_create_record(
            metadata_type="schema", content={"table": "x"}, subject="s", subject_version=7
        )
    assert refused.value.code == "unknown_subject_version"


def test_evolve_proposes_from_failing_records_and_registers_on_request(in_alpha, engine):
    actions.do_register_schema("s", {"type": "object", "properties": {"a": {}}})
    actions.do_create_record(metadata_type="schema", content={"a": 1, "b": 2}, subject="s")
    strict = {"type": "object", "properties": {"a": {}}, "additionalProperties": False}
    actions.do_set_subject_config("s", compatibility="NONE")
    actions.do_register_schema("s", strict)
    proposal = actions.do_evolve_subject("s")
    assert proposal["failing_records"] == 1 and proposal["unresolved"] == 0
    assert proposal["proposal"]["properties"]["b"] == {"type": "integer"}
    assert proposal["edits"] == [
        {"pointer": "#/properties/b", "action": "added", "detail": "optional property"}
    ]
    assert proposal["registered_version"] is None and SubjectVersion.objects.count() == 2
    registered = actions.do_evolve_subject("s", register=True)
    assert registered["registered_version"] == 3
    assert actions.do_evolve_subject("s")["failing_records"] == 0
