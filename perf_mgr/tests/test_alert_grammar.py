"""The condition grammar: the seed's forms, positioned errors, and (hypothesis) any
text gives an AST or a positioned ConditionError, never another exception."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_mgr.alerting import grammar
from perf_mgr.alerting.grammar import Call, Compare, ConditionError, Level, Name, Number


def test_parse_seed_shorthand_with_milliseconds():
    ast = grammar.parse("session_creation_time_p95 > 100ms")
    assert ast == Compare(">", Name("session_creation_time_p95"), Number(0.1, "100ms"))


def test_parse_level_string_comparison():
    assert grammar.parse('threat_level == "high"').right == Level("high")
    assert grammar.parse('threat_level == "high"').right.value == 3.0


def test_parse_call_with_matchers_window_and_by():
    ast = grammar.parse('p95(http_request_duration_seconds{view="v1:x"}[5m]) by (status) >= 2s')
    assert ast.left == Call(
        "p95", "http_request_duration_seconds", (("view", "v1:x"),), 300.0, "5m", ("status",)
    )
    assert ast.right.value == 2.0


def test_parse_percent_is_a_ratio_and_and_binds_tighter_than_or():
    ast = grammar.parse("a > 5% or b < 1 and absent(c[1h])")
    assert ast.op == "or"
    assert ast.left.right.value == pytest.approx(0.05)
    assert ast.right.op == "and"


@pytest.mark.parametrize(
    "text,line,column,fragment",
    [
        ("a >", 1, 4, "ends too early"),
        ("a > 1 andd", 1, 7, "andd"),
        ("a >\n  ? 3", 2, 3, "'?'"),
        ("foo(x[5m]) > 1", 1, 1, "Unknown function foo"),
        ("p95(x[5]) > 1", 1, 7, "window"),
        ('a == "loud"', 1, 6, "Unknown level"),
        ("a > 1e400", 1, 5, "finite"),
        ("", 1, 1, "empty"),
    ],
)
def test_parse_refuses_with_line_and_column(text, line, column, fragment):
    with pytest.raises(ConditionError) as caught:
        grammar.parse(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert fragment in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_arbitrary_text_gives_ast_or_positioned_error(text):
    try:
        ast = grammar.parse(text)
    except ConditionError as exc:
        assert exc.line >= 1 and exc.column >= 1
    else:
        assert grammar.parse(grammar.to_text(ast)) == ast


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab_(){}[]<>=!"5m%s ,.andorby\n', max_size=40))
def test_parse_grammar_shaped_noise_gives_ast_or_positioned_error(text):
    try:
        grammar.parse(text)
    except ConditionError as exc:
        assert exc.line >= 1 and exc.column >= 1


names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in ("and", "or", "by")
)
numbers = st.builds(
    lambda v, unit: Number(
        float(v) * grammar.UNITS[unit],
        f"{v}{unit}",
    ),
    st.integers(0, 10_000),
    st.sampled_from(["", "ms", "s", "m", "h", "%"]),
)
calls = st.builds(
    lambda fn, metric, labels, window, by: Call(
        fn, metric, tuple(sorted(labels.items())), window * 60.0, f"{window}m", tuple(by)
    ),
    st.sampled_from(grammar.CALL_FUNCTIONS),
    names,
    st.dictionaries(names, st.from_regex(r"[a-z0-9:]{0,6}", fullmatch=True), max_size=2),
    st.integers(1, 600),
    st.lists(names, max_size=2),
)
operands = st.one_of(calls, names.map(Name))
compares = st.builds(
    Compare, st.sampled_from(sorted(grammar.COMPARATORS)), operands, st.one_of(numbers, operands)
)
conditions = st.recursive(
    compares,
    lambda inner: st.builds(grammar.BoolOp, st.sampled_from(["and", "or"]), inner, inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(conditions)
def test_parse_round_trips_generated_conditions(ast):
    assert grammar.parse(grammar.to_text(ast)) == ast
