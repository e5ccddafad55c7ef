"""Modes over several versions (latest only vs transitive), the open-content-aware policy
against stored records, and bad input."""

import pytest

from metadata_mgr.compat import SchemaError, check, diff

S = {"type": "string"}


def st(**kw):
    return {"type": "string", **kw}


def obj(props, **kw):
    return {"type": "object", "properties": props, **kw}


# v2 was registered under NONE after v1; v3 only retitles v2.
BACKWARD_HISTORY = [st(maxLength=20), st(maxLength=10), st(maxLength=10, title="v3")]
FORWARD_HISTORY = [st(maxLength=10), st(maxLength=20), st(maxLength=20, title="v3")]


@pytest.mark.parametrize(
    ("mode", "history", "compatible"),
    [
        ("BACKWARD", BACKWARD_HISTORY, True),
        ("BACKWARD_TRANSITIVE", BACKWARD_HISTORY, False),
        ("FORWARD", FORWARD_HISTORY, True),
        ("FORWARD_TRANSITIVE", FORWARD_HISTORY, False),
        ("FULL", BACKWARD_HISTORY, True),
        ("FULL_TRANSITIVE", BACKWARD_HISTORY, False),
        ("FULL_TRANSITIVE", FORWARD_HISTORY, False),
        ("NONE", BACKWARD_HISTORY, True),
    ],
)
def test_check_transitive_modes_look_past_the_latest(mode, history, compatible):
    *previous, new = history
    assert check(new, previous, mode).compatible is compatible


def test_check_transitive_reason_names_the_version_it_failed_against():
    *previous, new = BACKWARD_HISTORY
    result = check(new, previous, "BACKWARD_TRANSITIVE")
    assert [(r.change_type, r.pointer, r.version_index) for r in result.reasons] == [
        ("MAX_LENGTH_DECREASED", "#/maxLength", 0)
    ]


def test_check_full_reports_both_directions():
    result = check(st(pattern="^b"), [st(pattern="^a")], "FULL")
    assert {(r.change_type, r.direction) for r in result.reasons} == {
        ("PATTERN_CHANGED", "backward"),
        ("PATTERN_CHANGED", "forward"),
    }


def test_check_first_version_is_always_compatible():
    assert check(st(maxLength=1), [], "FULL_TRANSITIVE").compatible is True


def test_check_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="SIDEWAYS"):
        check(S, [S], "SIDEWAYS")


@pytest.mark.parametrize(
    "schema",
    [{"type": "strin"}, {"maxLength": -1}, {"properties": []}, {"$ref": "other.json#/x"}],
)
def test_check_unreadable_new_schema_is_a_schema_error(schema):
    with pytest.raises(SchemaError):
        check(schema, [S], "BACKWARD")


def test_check_unreadable_schema_is_refused_even_under_none():
    with pytest.raises(SchemaError):
        check({"type": 5}, [S], "NONE")


OPEN_V1 = obj({"name": S})
OPEN_V2 = obj({"name": S, "age": {"type": "integer"}})


def test_open_content_aware_accepts_optional_property_no_record_breaks():
    records = [{"name": "a"}, {"name": "b", "age": 3}]
    strict = check(OPEN_V2, [OPEN_V1], "BACKWARD")
    relaxed = check(
        OPEN_V2, [OPEN_V1], "BACKWARD", open_content_aware=True, existing_records=records
    )
    assert strict.compatible is False
    assert [r.change_type for r in strict.reasons] == ["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert relaxed.compatible is True
    assert [(r.change_type, r.pointer) for r in relaxed.relaxed] == [
        ("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/age")
    ]
    assert relaxed.records_checked == 2
    assert relaxed.breaking_records == []


def test_open_content_aware_refuses_and_names_breaking_records_by_id():
    records = {"rec-1": {"name": "a"}, "rec-2": {"name": "b", "age": "old"}}
    result = check(
        OPEN_V2, [OPEN_V1], "BACKWARD", open_content_aware=True, existing_records=records
    )
    assert result.compatible is False
    assert [r.change_type for r in result.reasons] == ["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert [(b.record, b.pointer) for b in result.breaking_records] == [("rec-2", "/age")]
    assert result.breaking_records_total == 1


def test_open_content_aware_names_breaking_records_by_position():
    records = iter([{"name": "a"}, {"name": "b"}, {"age": 1.5}])
    result = check(OPEN_V2, [OPEN_V1], "FULL", open_content_aware=True, existing_records=records)
    assert result.compatible is False
    assert [b.record for b in result.breaking_records] == [2]


def test_open_content_aware_never_accepts_a_required_property():
    v2 = obj({"name": S, "age": {"type": "integer"}}, required=["age"])
    result = check(v2, [OPEN_V1], "BACKWARD", open_content_aware=True, existing_records=[])
    assert result.compatible is False
    assert result.relaxed == []


def test_open_content_aware_leaves_other_incompatibilities_refused():
    v2 = obj({"name": st(maxLength=2), "age": {"type": "integer"}})
    result = check(v2, [OPEN_V1], "BACKWARD", open_content_aware=True, existing_records=[])
    assert result.compatible is False
    assert [r.change_type for r in result.reasons] == ["MAX_LENGTH_ADDED"]


def test_open_content_aware_applies_inside_unions():
    v1 = {"oneOf": [OPEN_V1, {"type": "null"}]}
    v2 = {"oneOf": [OPEN_V2, {"type": "null"}]}
    assert check(v2, [v1], "BACKWARD").compatible is False
    relaxed = check(v2, [v1], "BACKWARD", open_content_aware=True, existing_records=[None])
    assert relaxed.compatible is True


def test_open_content_aware_needs_the_records():
    with pytest.raises(ValueError, match="existing records"):
        check(OPEN_V2, [OPEN_V1], "BACKWARD", open_content_aware=True)


def test_diff_recursive_schema_terminates_and_sees_a_deep_change():
    def tree(leaf_type):
        return {
            "definitions": {
                "node": obj(
                    {
                        "value": {"type": leaf_type},
                        "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
                    }
                )
            },
            "$ref": "#/definitions/node",
        }

    assert diff(tree("integer"), tree("integer")) == []
    assert [str(d) for d in diff(tree("integer"), tree("number"))] == [
        "TYPE_EXTENDED #/properties/value"
    ]


def test_diff_recursive_union_change_behind_a_cycle_is_not_masked():
    def schema(t0, t1):
        def node(id_type, target):
            return obj(
                {
                    "id": {"type": id_type},
                    "ref": {"oneOf": [{"$ref": f"#/definitions/{target}"}]},
                },
                additionalProperties=True,
            )

        return {
            "definitions": {
                "T0": node(t0, "T2"),
                "T1": node(t1, "T2"),
                "T2": node("integer", "T0"),
            },
            "type": "object",
            "properties": {
                "root": {"oneOf": [{"$ref": "#/definitions/T0"}, {"$ref": "#/definitions/T1"}]}
            },
        }

    found = check(schema("boolean", "number"), [schema("integer", "boolean")], "BACKWARD")
    assert found.compatible is False


def test_diff_wide_recursive_unions_finish():
    types = [f"T{i}" for i in range(12)]
    union = {"oneOf": [{"$ref": f"#/definitions/{t}"} for t in types]}
    definitions = {t: obj({"id": S, "next": union, "other": union}) for t in types}
    schema = {"definitions": definitions, "type": "object", "properties": {"product": union}}
    assert diff(schema, schema) == []


def test_diff_reserved_names_and_conflicts():
    found = diff(
        obj({"a": S}),
        obj({"a": S, "cost": S}),
        original_reserved=["cost", "status"],
        update_reserved=["cost"],
    )
    assert {str(d) for d in found} >= {
        "RESERVED_PROPERTY_REMOVED status",
        "RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY #/properties/cost",
    }
