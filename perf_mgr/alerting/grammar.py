"""The grammar of alert conditions, parsed with lark (LALR, so an error has one precise
position) into a small AST of frozen dataclasses.

    session_creation_time_p95 > 100ms
    p95(http_request_duration_seconds{view="v1:sessions"}[5m]) by (status) > 0.5s
    rate(http_request_duration_seconds[5m]) > 10 and absent(orders_placed[15m])
    threat_level == "high"

- numbers take a unit: `ms`, `s`, `m`, `h` (converted to seconds) or `%` (a ratio:
  5% is 0.05); values are compared in the metric's own unit, seconds for durations;
- a call is `fn(metric{label="value", ...}[window]) by (label, ...)`; fn is one of
  `perf_mgr.query`'s functions (avg, p95, rate, absent, ...);
- a bare name is either a metric (its `last_avg`) or the seed's shorthand
  `<metric>_<fn>` (`session_creation_time_p95`): which one is decided against the
  tenant's known metrics (rules.py), not here;
- a string is a level (`"low"`, `"medium"`, `"high"`, `"critical"` = 1..4), only with
  `==`/`!=`: the seed's `threat_level == "high"`;
- `and`/`or` combine comparisons (and binds tighter), parentheses group; an operand
  alone is true when its value is non-zero (`absent(x[5m])`).

`parse(text)` returns the AST or raises `ConditionError(message, line, column)`; it
never raises anything else (the hypothesis tests feed it arbitrary text).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, VisitError

from perf_mgr.query import FUNCTIONS

MAX_LENGTH = 2000
LEVELS = {"low": 1.0, "medium": 2.0, "high": 3.0, "critical": 4.0}
UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "%": 0.01}
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
CALL_FUNCTIONS = tuple(f for f in FUNCTIONS)  # avg, p95, rate, absent, ...
MAX_WINDOW_S = 7 * 86400
COMPARATORS = frozenset({">=", "<=", "==", "!=", ">", "<"})

GRAMMAR = r"""
start: expr
?expr: and_expr
     | expr OR and_expr          -> or_
?and_expr: test
     | and_expr AND test         -> and_
?test: operand COMPARATOR operand -> compare
     | operand                   -> truthy
     | "(" expr ")"
?operand: QUANTITY               -> number
     | STRING                    -> string
     | call
     | NAME                      -> name
call: NAME "(" NAME matchers? "[" QUANTITY "]" ")" by?
matchers: "{" [matcher ("," matcher)*] "}"
matcher: NAME "=" STRING
by: BY "(" NAME ("," NAME)* ")"
// Keywords end at a word boundary: `andd` is a name, not `and d`.
AND.2: /and(?![a-zA-Z0-9_:])/
OR.2: /or(?![a-zA-Z0-9_:])/
BY.2: /by(?![a-zA-Z0-9_:])/
COMPARATOR: ">=" | "<=" | "==" | "!=" | ">" | "<"
QUANTITY: /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?(ms|s|m|h|%)?(?![a-zA-Z0-9_])/
NAME: /[a-zA-Z_:][a-zA-Z0-9_:]*/
STRING: /"[^"\\\n]*"/
%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


class ConditionError(ValueError):
    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Number:
    value: float
    text: str  # as written (100ms), for round trips and messages


@dataclass(frozen=True)
class Level:
    name: str

    @property
    def value(self) -> float:
        return LEVELS[self.name]


@dataclass(frozen=True)
class Call:
    function: str
    metric: str
    labels: tuple  # ((name, value), ...) sorted
    window_s: float
    window_text: str
    by: tuple  # label names


@dataclass(frozen=True)
class Name:
    name: str  # a metric or the shorthand <metric>_<fn>: resolved by rules.py
    line: int = field(default=0, compare=False)  # where it was written, for messages
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Truthy:
    operand: object


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: object
    right: object


def _quantity(token: Token) -> tuple[float, str]:
    text = str(token)
    unit = next((u for u in ("ms", "s", "m", "h", "%") if text.endswith(u)), "")
    number = float(text[: len(text) - len(unit)])
    return number * UNITS[unit], unit


def _fail(message: str, token) -> None:
    raise ConditionError(message, getattr(token, "line", 1) or 1, getattr(token, "column", 1) or 1)


class _ToAst(Transformer):
    def start(self, items):
        return items[0]

    def or_(self, items):
        return BoolOp("or", items[0], items[2])

    def and_(self, items):
        return BoolOp("and", items[0], items[2])

    def compare(self, items):
        left, op, right = items
        for side, other in ((left, right), (right, left)):
            if isinstance(side, Level) and op not in ("==", "!="):
                _fail(f"A level compares only with == or !=, not {op}.", op)
            if isinstance(side, Level) and isinstance(other, Level | Number):
                _fail("A level compares with a metric, not with a constant.", op)
        if isinstance(left, Number) and isinstance(right, Number):
            _fail("The comparison has no metric on either side.", op)
        return Compare(str(op), left, right)

    def truthy(self, items):
        operand = items[0]
        if isinstance(operand, Number | Level):
            raise ConditionError("A constant alone is not a condition.", 1, 1)
        return Truthy(operand)

    @v_args(inline=True)
    def number(self, token):
        value, _unit = _quantity(token)
        if not math.isfinite(value):
            _fail(f"{token!s} is not a finite number.", token)
        return Number(value, str(token))

    @v_args(inline=True)
    def string(self, token):
        name = str(token)[1:-1]
        if name not in LEVELS:
            _fail(f"Unknown level {name!r}: one of {', '.join(LEVELS)}.", token)
        return Level(name)

    @v_args(inline=True)
    def name(self, token):
        if str(token) in ("and", "or", "by"):
            _fail(f"{token!s} needs an operand before it.", token)
        return Name(str(token), token.line, token.column)

    def matchers(self, items):
        return ("matchers", tuple(items))

    @v_args(inline=True)
    def matcher(self, name, value):
        return (str(name), str(value)[1:-1])

    def by(self, items):
        return ("by", tuple(str(t) for t in items[1:]))

    def call(self, items):
        function, metric, *rest = items
        if str(function) not in CALL_FUNCTIONS:
            _fail(f"Unknown function {function!s}: one of {', '.join(CALL_FUNCTIONS)}.", function)
        matchers, by, window = (), (), None
        for item in rest:
            if isinstance(item, Token):
                window = item
            elif item[0] == "matchers":
                matchers = item[1]
            else:
                by = item[1]
        seconds, unit = _quantity(window)
        if unit in ("", "%") or not 60 <= seconds <= MAX_WINDOW_S:
            _fail("A window is a duration from 1m to 7d, such as [5m].", window)
        names = [k for k, _v in matchers]
        if len(set(names)) != len(names):
            _fail("A label is matched twice.", metric)
        return Call(str(function), str(metric), tuple(sorted(matchers)), seconds, str(window), by)


def parse(text) -> object:
    """The AST of a condition, or ConditionError with the line and column (1-based)."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("The condition is empty.", 1, 1)
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"The condition is longer than {MAX_LENGTH} characters.", 1, 1)
    try:
        tree = _PARSER.parse(text)
        return _ToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ConditionError):
            raise exc.orig_exc from None
        raise ConditionError(f"Invalid condition: {exc.orig_exc}", 1, 1) from None
    except UnexpectedCharacters as exc:
        line, column = _position(text, exc)
        raise ConditionError(
            f"Unexpected character {text[exc.pos_in_stream]!r}", line, column
        ) from None
    except UnexpectedInput as exc:
        token = getattr(exc, "token", None)
        if token is None or getattr(token, "type", "") == "$END":
            line, column = _end(text)
            raise ConditionError("The condition ends too early.", line, column) from None
        line, column = _position(text, exc)
        raise ConditionError(f"Unexpected {token!s}", line, column) from None
    except LarkError as exc:  # any other parser complaint, still positioned
        raise ConditionError(f"Invalid condition: {exc}", 1, 1) from None


def _position(text: str, exc) -> tuple[int, int]:
    line, column = getattr(exc, "line", -1), getattr(exc, "column", -1)
    if isinstance(line, int) and line >= 1 and isinstance(column, int) and column >= 1:
        return line, column
    return _end(text)


def _end(text: str) -> tuple[int, int]:
    """The position just after the last character (where a missing part would go)."""
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1


def to_text(node) -> str:
    """The condition of an AST (parse(to_text(ast)) == ast)."""
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Level):
        return f'"{node.name}"'
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        matchers = ", ".join(f'{k}="{v}"' for k, v in node.labels)
        text = f"{node.function}({node.metric}"
        text += f"{{{matchers}}}" if node.labels else ""
        text += f"[{node.window_text}])"
        return text + (f" by ({', '.join(node.by)})" if node.by else "")
    if isinstance(node, Compare):
        return f"{to_text(node.left)} {node.op} {to_text(node.right)}"
    if isinstance(node, Truthy):
        return to_text(node.operand)
    if isinstance(node, BoolOp):
        left, right = to_text(node.left), to_text(node.right)
        if isinstance(node.left, BoolOp) and node.left.op == "or" and node.op == "and":
            left = f"({left})"
        if isinstance(node.right, BoolOp) and (node.op == "and" or node.right.op == "or"):
            right = f"({right})"
        return f"{left} {node.op} {right}"
    raise TypeError(node)


def walk(node):
    """Every node of the AST, depth first."""
    yield node
    for child in ("left", "right", "operand"):
        if hasattr(node, child):
            yield from walk(getattr(node, child))
