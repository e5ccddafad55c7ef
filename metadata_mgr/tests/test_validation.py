"""Validators: every bad value is a MetadataError naming the problem (never an
exception of another kind), every good one passes (hypothesis)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_mgr import validation
from metadata_mgr.exceptions import MetadataError

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=5), c, max_size=5),
    max_leaves=15,
)


@pytest.mark.parametrize(
    "check",
    [
        validation.name,
        validation.tags,
        validation.owner,
        validation.metadata_type,
        validation.subject_name,
        validation.content,
        validation.check_schema,
    ],
)
@given(value=anything)
def test_validators_refuse_only_with_metadata_error(check, value):
    try:
        check(value)
    except MetadataError as exc:
        assert 400 <= exc.status < 500 and exc.code and exc.message


@given(
    st.lists(
        st.text(min_size=1, max_size=64).filter(
            lambda t: t.strip() and "|" not in t and t.isprintable()
        ),
        max_size=32,
    )
)
def test_validation_good_tags_pass_deduplicated(tags):
    kept = validation.tags(tags)
    assert len(kept) == len({t.strip() for t in tags})
    assert validation.tag_index(kept).count("|") == (len(kept) + 1 if kept else 0)


@pytest.mark.parametrize("value", ["SCHEMA", " business ", "Technical"])
def test_validation_metadata_type_any_case(value):
    assert validation.metadata_type(value) == value.strip().lower()


def test_validation_metadata_type_enum_member():
    from metadata_mgr.models import MetadataType

    assert validation.metadata_type(MetadataType.SCHEMA) == "schema"


def test_validation_check_schema_names_the_pointer():
    with pytest.raises(MetadataError) as refused:
        validation.check_schema({"type": "object", "properties": {"a": {"type": "nope"}}})
    assert refused.value.code == "invalid_schema"
    assert refused.value.extra["pointer"] == "/properties/a/type"
