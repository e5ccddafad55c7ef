"""Validators and label canonicalisation, by property: whatever the input, a sample is
either accepted in one canonical form or refused with a reason, never anything else."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perf_mgr import sketch
from perf_mgr.validation import (
    MAX_LABELS,
    MetricRejected,
    canonical_labels,
    check_name,
    check_value,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
good_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: not k.startswith("__") and k != "tenant"
)
good_values = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn", "Cf")),
        max_size=30,
    ).filter(str.isprintable)
    | st.integers()
    | st.booleans()
)


@given(st.dictionaries(good_keys, good_values, max_size=MAX_LABELS))
def test_canonical_labels_ignore_order_and_are_idempotent(labels):
    canonical = canonical_labels(labels)
    assert canonical == canonical_labels(dict(reversed(list(labels.items()))))
    assert canonical == canonical_labels(dict(canonical))
    assert [k for k, _ in canonical] == sorted(labels)
    assert all(isinstance(v, str) for _, v in canonical)


@given(json_values)
def test_any_labels_are_canonical_or_refused_with_a_reason(labels):
    try:
        canonical = canonical_labels(labels)
    except MetricRejected as exc:
        assert exc.code == "invalid_label" and exc.message
    else:
        assert canonical == canonical_labels(dict(canonical))


@given(json_values)
def test_any_value_is_a_finite_float_or_refused(value):
    try:
        number = check_value(value)
    except MetricRejected as exc:
        assert exc.code in ("not_numeric", "not_finite")
    else:
        assert isinstance(number, float) and math.isfinite(number)
        assert not isinstance(value, bool | str)


@given(st.text(max_size=120))
def test_any_name_is_valid_or_refused(name):
    try:
        assert check_name(name) == name
    except MetricRejected as exc:
        assert exc.code == "invalid_name"


@pytest.mark.parametrize(
    "labels", [{"tenant": "x"}, {"__name__": "x"}, {"9a": "x"}, {"a": "x\n"}, {"a": 1.5}]
)
def test_reserved_or_malformed_labels_are_refused(labels):
    with pytest.raises(MetricRejected):
        canonical_labels(labels)


@given(
    st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), min_size=1, max_size=200)
)
def test_sketch_quantiles_are_within_the_relative_error(values):
    ordered = sorted(values)
    merged = sketch.of_values(values[: len(values) // 2])
    sketch.add(merged, sketch.of_values(values[len(values) // 2 :]))
    for q in (0.0, 0.5, 0.95, 1.0):
        exact = ordered[math.floor(q * (len(ordered) - 1))]  # the sketch's rank rule
        got = sketch.quantile(merged, q, ordered[0], ordered[-1])
        assert abs(got - exact) <= abs(exact) * sketch.RELATIVE_ERROR * 1.0001 + 1e-300


def test_packed_sketches_round_trip_and_read_the_json_form():
    counts = {0: 2, sketch.code(0.5): 3, sketch.code(-4.0): 1, sketch.code(1e300): 7}
    packed = sketch.pack(counts)
    assert len(packed) == len(counts) * sketch.RECORD.itemsize
    assert sketch.unpack(packed) == counts
    codes = sorted(counts)
    assert sketch.from_json([codes, [counts[c] for c in codes]]) == packed  # migration 0008
    assert sketch.unpack(b"") == {} and sketch.as_arrays(b"") == ()


def test_vectorised_codes_and_representatives_match_the_scalar_ones():
    values = [0.0, 1e-310, 1e-9, 0.0371, 1.0, 2.0, 123.456, 9e307, -0.5, -42.0]
    assert sketch.codes_of(values).tolist() == [sketch.code(v) for v in values]
    codes = [sketch.code(v) for v in values]
    expected = [sketch.representative(c) for c in codes]
    assert sketch.representatives(codes).tolist() == pytest.approx(expected, rel=1e-12)
