"""The path differ: diff then apply gives the target, for any pair of JSON documents
(hypothesis), with JSON pointers that resolve in the documents; breaking changes as
docs/metadata.md defines them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_mgr import differ, versioning

scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
keys = st.text(alphabet="ab/~0 ", min_size=0, max_size=3)  # "/" and "~" need escaping
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


@given(json_values, json_values)
def test_differ_diff_then_apply_is_the_target(old, new):
    changes = differ.diff(old, new)
    assert differ.same(differ.apply(old, changes), new)


@given(json_values, json_values)
def test_differ_pointers_resolve_in_old_or_new(old, new):
    for change in differ.diff(old, new):
        if change["op"] in ("removed", "changed"):
            assert differ.same(differ.get(old, change["path"]), change["old"])
        if change["op"] == "changed":
            assert differ.same(differ.get(new, change["path"]), change["new"])


@given(json_values)
def test_differ_identical_documents_have_no_changes(doc):
    assert differ.diff(doc, doc) == []


def test_differ_escapes_pointer_tokens():
    changes = differ.diff({"a/b": 1, "c~d": 2}, {"a/b": 2})
    assert {c["path"] for c in changes} == {"/a~1b", "/c~0d"}


def test_differ_types_are_strict_numbers_by_value():
    assert differ.diff({"a": True}, {"a": 1}) == [
        {"op": "changed", "path": "/a", "old": True, "new": 1}
    ]
    assert differ.diff({"a": 1}, {"a": 1.0}) == []


@pytest.mark.parametrize(
    "change,breaking",
    [
        ({"op": "removed", "path": "/content/a", "old": 1}, True),
        ({"op": "changed", "path": "/content/a", "old": 1, "new": "1"}, True),
        ({"op": "changed", "path": "/content/a", "old": 1, "new": None}, True),
        ({"op": "changed", "path": "/content/a", "old": {}, "new": []}, True),
        ({"op": "changed", "path": "/content/a", "old": 1, "new": 2.5}, False),
        ({"op": "added", "path": "/content/a", "new": 1}, False),
        ({"op": "removed", "path": "/tags/0", "old": "x"}, False),
        ({"op": "changed", "path": "/owner", "old": "a", "new": "b"}, False),
        ({"op": "changed", "path": "/subject", "old": "a", "new": "b"}, True),
        ({"op": "changed", "path": "/subject_version", "old": 1, "new": 2}, False),
        ({"op": "changed", "path": "/contents", "old": 1, "new": "x"}, False),
    ],
)
def test_versioning_breaking_rules(change, breaking):
    assert versioning.is_breaking(change) is breaking
    assert versioning.next_number(3, 4, [change]) == ((4, 0) if breaking else (3, 5))
