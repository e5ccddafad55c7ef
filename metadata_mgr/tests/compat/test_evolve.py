"""Automatic schema evolution: each widening rule, the edits it reports, and the verdict
of the subject's mode on the proposal."""

import pytest

from metadata_mgr.compat import evolve, infer_schema, propose, validator_for

CURRENT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 3, "pattern": "^[a-z]+$"},
        "age": {"type": "integer", "minimum": 0, "exclusiveMaximum": 150},
        "kind": {"enum": ["a", "b"]},
        "flag": {"const": True},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": True},
        "step": {"type": "integer", "multipleOf": 6},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("record", "pointer", "expected"),
    [
        ({"name": "abcdef", "age": 1}, ("properties", "name", "maxLength"), 6),
        ({"name": None, "age": 1}, ("properties", "name", "type"), ["string", "null"]),
        ({"name": "a", "age": 1.5}, ("properties", "age", "type"), "number"),
        ({"name": "a", "age": -4}, ("properties", "age", "minimum"), -4),
        ({"name": "a", "age": 200}, ("properties", "age", "exclusiveMaximum"), 201),
        ({"name": "a", "age": 1, "kind": "c"}, ("properties", "kind", "enum"), ["a", "b", "c"]),
        ({"name": "a", "age": 1, "flag": False}, ("properties", "flag", "anyOf"),
         [{"const": True}, {"const": False}]),
        ({"name": "a", "age": 1, "tags": ["x", "y", "z"]}, ("properties", "tags", "maxItems"), 3),
        ({"name": "a", "age": 1, "step": 9}, ("properties", "step", "multipleOf"), 3),
        ({"name": "a", "age": 1, "extra": {"n": 1}}, ("properties", "extra"),
         {"type": "object", "properties": {"n": {"type": "integer"}}}),
    ],
)  # fmt: skip
def test_propose_widens_what_the_record_needs(record, pointer, expected):
    schema, edits, unresolved = propose(CURRENT, [record])
    node = schema
    for step in pointer:
        node = node[step]
    assert node == expected
    assert unresolved == []
    assert edits
    assert validator_for(schema).is_valid(record)
    assert CURRENT["properties"]["name"]["maxLength"] == 3  # the input is left alone


@pytest.mark.parametrize(
    ("record", "dropped"),
    [
        ({"name": "ABC", "age": 1}, ("properties", "name", "pattern")),
        ({"name": "a", "age": 1, "tags": ["x", "x"]}, ("properties", "tags", "uniqueItems")),
        ({"name": "a", "age": 1, "step": 7}, ("properties", "step", "multipleOf")),
    ],
)
def test_propose_drops_a_constraint_no_widening_can_meet(record, dropped):
    schema, _, _ = propose(CURRENT, [record])
    *parent, keyword = dropped
    node = schema
    for step in parent:
        node = node[step]
    assert keyword not in node


def test_propose_replaces_a_false_property_schema():
    schema, edits, unresolved = propose({"properties": {"foo": False}}, [{"foo": 1}])
    assert schema == {"properties": {"foo": {"type": "integer"}}}
    assert [e.pointer for e in edits] == ["#/properties/foo"]
    assert unresolved == []


def test_propose_stops_requiring_a_missing_property():
    schema, edits, _ = propose(CURRENT, [{"age": 3}])
    assert schema["required"] == ["age"]
    assert [(e.pointer, e.action) for e in edits] == [("#/required", "relaxed")]


def test_propose_follows_refs_into_the_definition():
    current = {
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/short"}},
        "definitions": {"short": {"type": "string", "maxLength": 2}},
    }
    schema, edits, _ = propose(current, [{"a": "four"}])
    assert schema["definitions"]["short"]["maxLength"] == 4
    assert [e.pointer for e in edits] == ["#/definitions/short/maxLength"]


def test_propose_turns_an_ambiguous_one_of_into_any_of():
    current = {"oneOf": [{"type": "integer"}, {"type": "number", "maximum": 10}]}
    schema, _, unresolved = propose(current, [5, 2.5])
    assert "oneOf" not in schema
    assert validator_for(schema).is_valid(5)
    assert unresolved == []


def test_evolve_checks_the_proposal_in_the_subject_mode():
    backward = evolve([CURRENT], [{"name": "abcdef", "age": 1}], "BACKWARD")
    forward = evolve([CURRENT], [{"name": "abcdef", "age": 1}], "FORWARD")
    assert backward.changed and backward.result.compatible
    assert not forward.result.compatible
    assert [r.change_type for r in forward.result.reasons] == ["MAX_LENGTH_DECREASED"]


def test_evolve_with_fitting_records_proposes_no_change():
    evolution = evolve([CURRENT], [{"name": "ab", "age": 3}], "FULL_TRANSITIVE")
    assert not evolution.changed
    assert evolution.schema == CURRENT
    assert evolution.result.compatible


def test_evolve_adding_to_open_model_needs_the_open_content_aware_policy():
    # An open object accepts the extra property already: nothing to evolve there. A closed
    # nested object gains the property as optional, which Confluent accepts.
    current = {"type": "object", "properties": {"inner": {"type": "object", "properties": {},
               "additionalProperties": False}}}  # fmt: skip
    evolution = evolve([current], [{"inner": {"x": 1}}], "BACKWARD")
    assert evolution.schema["properties"]["inner"]["properties"] == {"x": {"type": "integer"}}
    assert evolution.result.compatible


def test_evolve_refuses_an_empty_history():
    with pytest.raises(ValueError, match="current schema"):
        evolve([], [{}], "BACKWARD")


def test_infer_schema_of_nested_values():
    assert infer_schema({"a": [1, 2], "b": [1, "x"], "c": None}) == {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "integer"}},
            "b": {"type": "array", "items": {"type": ["integer", "string"]}},
            "c": {"type": "null"},
        },
    }
