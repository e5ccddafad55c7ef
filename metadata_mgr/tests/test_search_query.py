"""The search request's validator: every accepted request is usable as it is, and
every refusal is a 400 that names the problem (hypothesis over arbitrary inputs)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_mgr.exceptions import MetadataError
from metadata_mgr.search.query import MAX_LIMIT, MAX_QUERY, MetadataSearch, validate

anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.lists(st.none())
)


@given(
    query=st.one_of(st.text(max_size=1200), anything),
    threshold=st.one_of(st.floats(), st.integers(-3, 3), anything),
    semantic=st.one_of(st.booleans(), anything),
    limit=st.one_of(st.integers(-5, 200), anything),
)
def test_validator_accepts_only_usable_requests(query, threshold, semantic, limit):
    request = MetadataSearch(
        query=query, semantic_search=semantic, similarity_threshold=threshold, limit=limit
    )
    try:
        checked = validate(request)
    except MetadataError as exc:
        assert exc.status == 400 and exc.code and exc.message
        return
    assert isinstance(checked.query, str) and checked.query.strip() == checked.query
    assert 0 < len(checked.query) <= MAX_QUERY
    assert 0.0 <= checked.similarity_threshold <= 1.0
    assert math.isfinite(checked.similarity_threshold)
    assert isinstance(checked.semantic_search, bool) and 1 <= checked.limit <= MAX_LIMIT


@given(threshold=st.floats(min_value=0.0, max_value=1.0))
def test_every_threshold_in_range_is_accepted(threshold):
    assert validate(
        MetadataSearch("users", similarity_threshold=threshold)
    ).similarity_threshold == (threshold)


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        (MetadataSearch(""), "empty_query", "query is empty"),
        (MetadataSearch("  \n\t "), "empty_query", "query is empty"),
        (MetadataSearch("x", similarity_threshold=1.5), "invalid_threshold", "between 0 and 1"),
        (MetadataSearch("x", similarity_threshold=-0.1), "invalid_threshold", "between 0 and 1"),
        (MetadataSearch("x", similarity_threshold=math.nan), "invalid_threshold", "0 and 1"),
        (MetadataSearch("x", similarity_threshold=True), "invalid_threshold", "a number"),
        (MetadataSearch("x", semantic_search=False, keyword_search=False), "invalid_search", ""),
        (MetadataSearch("x", limit=0), "invalid_limit", "limit"),
        (MetadataSearch("x", metadata_type="poetry"), "invalid_type", "poetry"),
        (MetadataSearch("x" * (MAX_QUERY + 1)), "query_too_long", "at most"),
    ],
)
def test_each_bad_request_names_its_problem(request_, code, words):
    with pytest.raises(MetadataError) as caught:
        validate(request_)
    assert caught.value.status == 400 and caught.value.code == code
    assert words in caught.value.message


def test_query_whitespace_is_collapsed():
    assert validate(MetadataSearch("  user \n data ")).query == "user data"
