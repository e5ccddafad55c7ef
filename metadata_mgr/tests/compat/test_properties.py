"""Property tests (hypothesis): a verdict of compatible must be true of the documents.

For random old schemas and random edits of them: whenever the checker calls the new schema
BACKWARD compatible, every document valid under the old schema (drawn with
hypothesis-jsonschema) validates under the new one; FORWARD likewise the other way round.
Automatic evolution: the proposal accepts every record it was given and, as it only widens,
is BACKWARD compatible with the schema it evolved from.

Documents come from strategies.documents (hypothesis-jsonschema no longer runs with the
pinned hypothesis) and only those the schema really accepts are used.
"""

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from metadata_mgr.compat import check, diff, evolve, validator_for

from .strategies import documents, evolutions, schemas

SETTINGS = settings(
    max_examples=300,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def _documents(data, schema, count=6):
    """Documents valid under `schema` (the generator aims at it; jsonschema decides)."""
    validator = validator_for(schema)
    drawn = [data.draw(documents(schema), label="document") for _ in range(count)]
    valid = [d for d in drawn if validator.is_valid(d)]
    event(f"valid documents drawn: {len(valid)}")
    return valid


@SETTINGS
@given(pair=evolutions(), data=st.data())
def test_backward_compatible_verdict_keeps_old_documents_valid(pair, data):
    old, new = pair
    result = check(new, [old], "BACKWARD")
    event("compatible" if result.compatible else "incompatible")
    if not result.compatible:
        return
    validator = validator_for(new)
    for document in _documents(data, old):
        assert validator.is_valid(document), (
            f"judged BACKWARD compatible, but {document!r} (valid under the old schema) "
            f"fails the new one; changes: {[str(d) for d in diff(old, new)]}; "
            f"old={old!r} new={new!r}"
        )


@SETTINGS
@given(pair=evolutions(), data=st.data())
def test_forward_compatible_verdict_keeps_new_documents_readable(pair, data):
    old, new = pair
    result = check(new, [old], "FORWARD")
    event("compatible" if result.compatible else "incompatible")
    if not result.compatible:
        return
    validator = validator_for(old)
    for document in _documents(data, new):
        assert validator.is_valid(document), (
            f"judged FORWARD compatible, but {document!r} (valid under the new schema) "
            f"fails the old one; changes: {[str(d) for d in diff(new, old)]}; "
            f"old={old!r} new={new!r}"
        )


@SETTINGS
@given(
    current=schemas(),
    records=st.lists(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-20, 20)
            | st.floats(-20, 20)
            | st.text(max_size=6),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), children, max_size=4)
            ),
            max_leaves=8,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_evolution_accepts_every_record_and_stays_backward_compatible(current, records):
    evolution = evolve([current], records, "BACKWARD")
    assert evolution.unresolved == []
    validator = validator_for(evolution.schema)
    assert all(validator.is_valid(r) for r in records)
    assert evolution.result.compatible, [r.as_dict() for r in evolution.result.reasons]


def test_property_generators_produce_both_verdicts():
    # The properties above mean something only if both verdicts occur.
    from hypothesis import find

    compatible = find(
        evolutions(), lambda p: diff(*p) != [] and check(p[1], [p[0]], "BACKWARD").compatible
    )
    incompatible = find(evolutions(), lambda p: not check(p[1], [p[0]], "BACKWARD").compatible)
    assert diff(*compatible)
    assert not check(incompatible[1], [incompatible[0]], "BACKWARD").compatible
