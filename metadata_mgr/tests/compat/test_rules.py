"""One row per compatibility rule, judged in both directions.

Each row: the old schema, the new one, whether BACKWARD holds (the new schema reads data
written with the old: diff old -> new), whether FORWARD holds (diff new -> old), and the
change each direction reports ("TYPE #/pointer", or None when that direction finds no
change at all). FULL must be both, NONE always holds.
"""

import pytest

from metadata_mgr.compat import CompatibilityMode, check, diff

S = {"type": "string"}
N = {"type": "number"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}


def obj(props=None, **kw):
    return {"type": "object", "properties": props or {}, **kw}


def closed(props=None, **kw):
    return obj(props, additionalProperties=False, **kw)


def arr(**kw):
    return {"type": "array", **kw}


def st(**kw):
    return {"type": "string", **kw}


def num(**kw):
    return {"type": "number", **kw}


RULES = [
    # name, old, new, backward ok, forward ok, backward change, forward change
    ("maxLength added", S, st(maxLength=5), False, True,
     "MAX_LENGTH_ADDED #/maxLength", "MAX_LENGTH_REMOVED #/maxLength"),
    ("maxLength increased", st(maxLength=5), st(maxLength=10), True, False,
     "MAX_LENGTH_INCREASED #/maxLength", "MAX_LENGTH_DECREASED #/maxLength"),
    ("minLength added", S, st(minLength=2), False, True,
     "MIN_LENGTH_ADDED #/minLength", "MIN_LENGTH_REMOVED #/minLength"),
    ("minLength decreased", st(minLength=5), st(minLength=2), True, False,
     "MIN_LENGTH_DECREASED #/minLength", "MIN_LENGTH_INCREASED #/minLength"),
    ("pattern added", S, st(pattern="^a"), False, True,
     "PATTERN_ADDED #/pattern", "PATTERN_REMOVED #/pattern"),
    ("pattern changed", st(pattern="^a"), st(pattern="^b"), False, False,
     "PATTERN_CHANGED #/pattern", "PATTERN_CHANGED #/pattern"),
    ("maximum added", N, num(maximum=10), False, True,
     "MAXIMUM_ADDED #/maximum", "MAXIMUM_REMOVED #/maximum"),
    ("maximum increased", num(maximum=10), num(maximum=20), True, False,
     "MAXIMUM_INCREASED #/maximum", "MAXIMUM_DECREASED #/maximum"),
    ("minimum added", N, num(minimum=0), False, True,
     "MINIMUM_ADDED #/minimum", "MINIMUM_REMOVED #/minimum"),
    ("minimum decreased", num(minimum=10), num(minimum=5), True, False,
     "MINIMUM_DECREASED #/minimum", "MINIMUM_INCREASED #/minimum"),
    ("exclusiveMaximum added", N, num(exclusiveMaximum=10), False, True,
     "EXCLUSIVE_MAXIMUM_ADDED #/exclusiveMaximum", "EXCLUSIVE_MAXIMUM_REMOVED #/exclusiveMaximum"),
    ("exclusiveMaximum increased", num(exclusiveMaximum=10), num(exclusiveMaximum=20), True, False,
     "EXCLUSIVE_MAXIMUM_INCREASED #/exclusiveMaximum",
     "EXCLUSIVE_MAXIMUM_DECREASED #/exclusiveMaximum"),
    ("exclusiveMinimum added", N, num(exclusiveMinimum=0), False, True,
     "EXCLUSIVE_MINIMUM_ADDED #/exclusiveMinimum", "EXCLUSIVE_MINIMUM_REMOVED #/exclusiveMinimum"),
    ("exclusiveMinimum decreased", num(exclusiveMinimum=10), num(exclusiveMinimum=5), True, False,
     "EXCLUSIVE_MINIMUM_DECREASED #/exclusiveMinimum",
     "EXCLUSIVE_MINIMUM_INCREASED #/exclusiveMinimum"),
    ("multipleOf added", N, num(multipleOf=5), False, True,
     "MULTIPLE_OF_ADDED #/multipleOf", "MULTIPLE_OF_REMOVED #/multipleOf"),
    ("multipleOf reduced", num(multipleOf=10), num(multipleOf=5), True, False,
     "MULTIPLE_OF_REDUCED #/multipleOf", "MULTIPLE_OF_EXPANDED #/multipleOf"),
    ("multipleOf fractional reduced", num(multipleOf=0.5), num(multipleOf=0.25), True, False,
     "MULTIPLE_OF_REDUCED #/multipleOf", "MULTIPLE_OF_EXPANDED #/multipleOf"),
    ("multipleOf changed", num(multipleOf=10), num(multipleOf=3), False, False,
     "MULTIPLE_OF_CHANGED #/multipleOf", "MULTIPLE_OF_CHANGED #/multipleOf"),
    ("integer widened to number", I, N, True, False, "TYPE_EXTENDED #/", "TYPE_NARROWED #/"),
    ("type changed", S, N, False, False, "TYPE_CHANGED #/", "TYPE_CHANGED #/"),
    ("made nullable", S, {"type": ["string", "null"]}, True, False,
     "SUM_TYPE_EXTENDED #/", "TYPE_CHANGED #/"),
    ("enum extended", {"enum": ["a"]}, {"enum": ["a", "b"]}, True, False,
     "ENUM_ARRAY_EXTENDED #/enum", "ENUM_ARRAY_NARROWED #/enum"),
    ("enum changed", {"enum": ["a", "b"]}, {"enum": ["b", "c"]}, False, False,
     "ENUM_ARRAY_CHANGED #/enum", "ENUM_ARRAY_CHANGED #/enum"),
    ("const changed", {"const": 1}, {"const": 2}, False, False,
     "ENUM_ARRAY_CHANGED #/const", "ENUM_ARRAY_CHANGED #/const"),
    ("required added", obj({"a": S}), obj({"a": S}, required=["a"]), False, True,
     "REQUIRED_ATTRIBUTE_ADDED #/required/a", "REQUIRED_ATTRIBUTE_REMOVED #/required/a"),
    ("required with default added", obj({"a": S}),
     obj({"a": st(default="x")}, required=["a"]), True, True,
     "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED #/required/a",
     "REQUIRED_ATTRIBUTE_REMOVED #/required/a"),
    ("undeclared name newly required (ours)", obj({"a": S}), obj({"a": S}, required=["b"]),
     False, True, "REQUIRED_ATTRIBUTE_ADDED #/required/b", None),
    ("optional property added to open model", obj({"a": S}), obj({"a": S, "b": I}), False, True,
     "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/b"),
    ("property with empty schema added to open model", obj(), obj({"b": {}}), True, True,
     "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/b"),
    ("optional property added to closed model", closed({"a": S}), closed({"a": S, "b": I}),
     True, False, "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/b"),
    ("required property added to closed model", closed({"a": S}),
     closed({"a": S, "b": I}, required=["b"]), False, False,
     "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/b"),
    ("required property with default added to closed model", closed({"a": S}),
     closed({"a": S, "b": {"type": "integer", "default": 0}}, required=["b"]), True, False,
     "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/b"),
    ("closed model opened", closed({"a": S}), obj({"a": S}), True, False,
     "ADDITIONAL_PROPERTIES_ADDED #/additionalProperties",
     "ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"),
    ("additionalProperties narrowed to a schema", obj(), obj(additionalProperties=S), False, True,
     "ADDITIONAL_PROPERTIES_NARROWED #/additionalProperties",
     "ADDITIONAL_PROPERTIES_EXTENDED #/additionalProperties"),
    ("property added, covered by partially open model", obj({"a": S}, additionalProperties=S),
     obj({"a": S, "b": S}, additionalProperties=S), True, True,
     "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b"),
    ("property added, not covered by partially open model",
     obj({"a": S}, additionalProperties=S), obj({"a": S, "b": I}, additionalProperties=S),
     False, False, "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b",
     "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b"),
    ("patternProperties schema narrowed (ours)", obj(patternProperties={"^x_": N}),
     obj(patternProperties={"^x_": I}), False, True,
     "TYPE_NARROWED #/patternProperties/^x_", "TYPE_EXTENDED #/patternProperties/^x_"),
    ("pattern added to open model (ours)", obj(), obj(patternProperties={"^x_": I}), False, True,
     "ADDITIONAL_PROPERTIES_NARROWED #/patternProperties/^x_", None),
    ("maxProperties added", obj(), obj(maxProperties=3), False, True,
     "MAX_PROPERTIES_ADDED #/maxProperties", "MAX_PROPERTIES_REMOVED #/maxProperties"),
    ("minProperties increased", obj(minProperties=1), obj(minProperties=2), False, True,
     "MIN_PROPERTIES_INCREASED #/minProperties", "MIN_PROPERTIES_DECREASED #/minProperties"),
    ("dependency array added", obj({"a": S, "b": S}),
     obj({"a": S, "b": S}, dependencies={"a": ["b"]}), False, True,
     "DEPENDENCY_ARRAY_ADDED #/dependencies/a", "DEPENDENCY_ARRAY_REMOVED #/dependencies/a"),
    ("dependency array extended", obj(dependencies={"a": ["b"]}),
     obj(dependencies={"a": ["b", "c"]}), False, True,
     "DEPENDENCY_ARRAY_EXTENDED #/dependencies/a", "DEPENDENCY_ARRAY_NARROWED #/dependencies/a"),
    ("dependentRequired added", obj(), obj(dependentRequired={"a": ["b"]}), False, True,
     "DEPENDENCY_ARRAY_ADDED #/dependentRequired/a",
     "DEPENDENCY_ARRAY_REMOVED #/dependentRequired/a"),
    ("dependency schema added", obj(), obj(dependencies={"a": {"required": ["b"]}}), False, True,
     "DEPENDENCY_SCHEMA_ADDED #/dependencies/a", "DEPENDENCY_SCHEMA_REMOVED #/dependencies/a"),
    ("items schema added", arr(), arr(items=S), False, True,
     "SCHEMA_ADDED #/items", "SCHEMA_REMOVED #/items"),
    ("items type changed", arr(items=S), arr(items=N), False, False,
     "TYPE_CHANGED #/items", "TYPE_CHANGED #/items"),
    ("tuple item added to closed array", arr(items=[S], additionalItems=False),
     arr(items=[S, N], additionalItems=False), True, False,
     "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1",
     "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1"),
    ("tuple item added to open array", arr(items=[S]), arr(items=[S, N]), False, True,
     "ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1",
     "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL #/items/1"),
    ("prefixItems item added to open array", arr(prefixItems=[S]), arr(prefixItems=[S, N]),
     False, True, "ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/prefixItems/1",
     "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL #/prefixItems/1"),
    ("additionalItems closed", arr(items=[S]), arr(items=[S], additionalItems=False), False, True,
     "ADDITIONAL_ITEMS_REMOVED #/additionalItems", "ADDITIONAL_ITEMS_ADDED #/additionalItems"),
    ("maxItems added", arr(), arr(maxItems=3), False, True,
     "MAX_ITEMS_ADDED #/maxItems", "MAX_ITEMS_REMOVED #/maxItems"),
    ("minItems decreased", arr(minItems=3), arr(minItems=1), True, False,
     "MIN_ITEMS_DECREASED #/minItems", "MIN_ITEMS_INCREASED #/minItems"),
    ("uniqueItems added", arr(), arr(uniqueItems=True), False, True,
     "UNIQUE_ITEMS_ADDED #/uniqueItems", "UNIQUE_ITEMS_REMOVED #/uniqueItems"),
    ("contains added (ours)", arr(), arr(contains=S), False, True,
     "SCHEMA_ADDED #/contains", "SCHEMA_REMOVED #/contains"),
    ("maxContains added", arr(contains=S), arr(contains=S, maxContains=2), False, False,
     "MAX_CONTAINS_ADDED #/maxContains", "MAX_CONTAINS_REMOVED #/maxContains"),
    ("anyOf extended", {"anyOf": [S]}, {"anyOf": [S, N]}, True, False,
     "SUM_TYPE_EXTENDED #/", "SUM_TYPE_NARROWED #/"),
    ("allOf narrowed", {"allOf": [S, {"maxLength": 5}]}, {"allOf": [S]}, True, False,
     "PRODUCT_TYPE_NARROWED #/", "PRODUCT_TYPE_EXTENDED #/"),
    ("oneOf relaxed to anyOf", {"oneOf": [S, N]}, {"anyOf": [S, N]}, True, False,
     "COMBINED_TYPE_EXTENDED #/", "COMBINED_TYPE_CHANGED #/"),
    ("not narrowed", {"not": N}, {"not": I}, True, False,
     "NOT_TYPE_NARROWED #/not", "NOT_TYPE_EXTENDED #/not"),
    ("$ref target widened",
     obj({"a": {"$ref": "#/definitions/x"}}, definitions={"x": st(maxLength=3)}),
     obj({"a": {"$ref": "#/definitions/x"}}, definitions={"x": st(maxLength=9)}), True, False,
     "MAX_LENGTH_INCREASED #/properties/a/maxLength",
     "MAX_LENGTH_DECREASED #/properties/a/maxLength"),
    ("title changed", st(title="a"), st(title="b"), True, True,
     "TITLE_CHANGED #/", "TITLE_CHANGED #/"),
    ("description changed", st(description="a"), st(description="b"), True, True,
     "DESCRIPTION_CHANGED #/", "DESCRIPTION_CHANGED #/"),
    ("default changed", st(default="a"), st(default="b"), True, True,
     "DEFAULT_CHANGED #/", "DEFAULT_CHANGED #/"),
    ("type keyword added to a keyword-typed object (ours)", {"properties": {"a": S}},
     obj({"a": S}), False, True, "TYPE_NARROWED #/", "TYPE_EXTENDED #/"),
    ("true narrowed to a type", True, {"type": "object"}, False, True, "TYPE_CHANGED #/", None),
    ("false widened to a type", False, S, True, False, None, "TYPE_CHANGED #/"),
    ("nested change reported at its pointer", obj({"xs": arr(items=obj({"n": I}))}),
     obj({"xs": arr(items=obj({"n": S}))}), False, False,
     "TYPE_CHANGED #/properties/xs/items/properties/n",
     "TYPE_CHANGED #/properties/xs/items/properties/n"),
    ("oneOf gains a disjoint branch", {"oneOf": [S, I]}, {"oneOf": [S, I, {"type": "null"}]},
     True, False, "SUM_TYPE_EXTENDED #/", "SUM_TYPE_NARROWED #/"),
    ("oneOf gains an overlapping branch (ours)", {"oneOf": [I, S]}, {"oneOf": [I, S, N]},
     False, False, "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/", "SUM_TYPE_NARROWED #/"),
    ("overlapping oneOf branch widened (ours)",
     {"oneOf": [num(maximum=5), num(minimum=10)]}, {"oneOf": [num(maximum=20), num(minimum=10)]},
     False, False, "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/", "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"),
    ("branch of a discriminated oneOf widened",
     {"oneOf": [obj({"k": {"const": "a"}, "v": st(maxLength=3)}, required=["k"]),
                obj({"k": {"const": "b"}}, required=["k"])]},
     {"oneOf": [obj({"k": {"const": "a"}, "v": st(maxLength=9)}, required=["k"]),
                obj({"k": {"const": "b"}}, required=["k"])]},
     True, False, "MAX_LENGTH_INCREASED #/oneOf/0/properties/v/maxLength",
     "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"),
    ("overlapping oneOf branch widened to true (ours)", {"oneOf": [{"type": "null"}, B]},
     {"oneOf": [{"type": "null"}, {}]}, False, False,
     "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/", "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"),
    ("property name escaped in the pointer", obj({"a/b~c": I}), obj({"a/b~c": S}), False, False,
     "TYPE_CHANGED #/properties/a~1b~0c", "TYPE_CHANGED #/properties/a~1b~0c"),
]  # fmt: skip

IDS = [row[0] for row in RULES]


def _changes(original, update):
    return [str(d) for d in diff(original, update)]


@pytest.mark.parametrize(("name", "old", "new", "backward", "forward", "b_change", "f_change"),
                         RULES, ids=IDS)  # fmt: skip
def test_rule_backward(name, old, new, backward, forward, b_change, f_change):
    result = check(new, [old], CompatibilityMode.BACKWARD)
    assert result.compatible is backward
    changes = _changes(old, new)
    if b_change is None:
        assert changes == []
    else:
        assert b_change in changes
    if not backward:
        assert {r.direction for r in result.reasons} == {"backward"}
        assert all(r.version_index == 0 for r in result.reasons)


@pytest.mark.parametrize(("name", "old", "new", "backward", "forward", "b_change", "f_change"),
                         RULES, ids=IDS)  # fmt: skip
def test_rule_forward(name, old, new, backward, forward, b_change, f_change):
    result = check(new, [old], CompatibilityMode.FORWARD)
    assert result.compatible is forward
    changes = _changes(new, old)
    if f_change is None:
        assert changes == []
    else:
        assert f_change in changes
    if not forward:
        assert {r.direction for r in result.reasons} == {"forward"}


@pytest.mark.parametrize(("name", "old", "new", "backward", "forward", "b_change", "f_change"),
                         RULES, ids=IDS)  # fmt: skip
def test_rule_full_and_none(name, old, new, backward, forward, b_change, f_change):
    assert check(new, [old], CompatibilityMode.FULL).compatible is (backward and forward)
    none = check(new, [old], CompatibilityMode.NONE)
    assert none.compatible is True
    assert none.reasons == []


def test_rule_table_reasons_name_change_and_pointer():
    result = check(st(maxLength=3), [st(maxLength=5)], "FULL")
    assert [(r.change_type, r.pointer, r.direction) for r in result.reasons] == [
        ("MAX_LENGTH_DECREASED", "#/maxLength", "backward")
    ]
