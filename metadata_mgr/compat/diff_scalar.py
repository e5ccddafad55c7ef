"""Scalar rules: string lengths and pattern, numeric bounds, multipleOf and integer vs
number, enum and const."""

from __future__ import annotations

from fractions import Fraction

from .changes import ChangeType as C
from .engine import KIND_COMPARERS, Context, compare_bound
from .model import ConstNode, EnumNode, NumberNode, StringNode


def _string(ctx: Context, original: StringNode, update: StringNode) -> None:
    compare_bound(ctx, "maxLength", original.max_length, update.max_length, "MAX_LENGTH")
    compare_bound(ctx, "minLength", original.min_length, update.min_length, "MIN_LENGTH")
    if original.pattern is None and update.pattern is not None:
        ctx.add(C.PATTERN_ADDED, "pattern")
    elif original.pattern is not None and update.pattern is None:
        ctx.add(C.PATTERN_REMOVED, "pattern")
    elif original.pattern != update.pattern:
        ctx.add(C.PATTERN_CHANGED, "pattern")


def _exact(value: float) -> Fraction:
    # via repr, so 0.1 is 1/10 and not the binary float nearest to it
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _number(ctx: Context, original: NumberNode, update: NumberNode) -> None:
    compare_bound(ctx, "maximum", original.maximum, update.maximum, "MAXIMUM")
    compare_bound(ctx, "minimum", original.minimum, update.minimum, "MINIMUM")
    compare_bound(
        ctx,
        "exclusiveMaximum",
        original.exclusive_maximum,
        update.exclusive_maximum,
        "EXCLUSIVE_MAXIMUM",
    )
    compare_bound(
        ctx,
        "exclusiveMinimum",
        original.exclusive_minimum,
        update.exclusive_minimum,
        "EXCLUSIVE_MINIMUM",
    )
    old, new = original.multiple_of, update.multiple_of
    if old != new:
        if old is None:
            ctx.add(C.MULTIPLE_OF_ADDED, "multipleOf")
        elif new is None:
            ctx.add(C.MULTIPLE_OF_REMOVED, "multipleOf")
        elif (_exact(new) / _exact(old)).denominator == 1:
            ctx.add(C.MULTIPLE_OF_EXPANDED, "multipleOf")
        elif (_exact(old) / _exact(new)).denominator == 1:
            ctx.add(C.MULTIPLE_OF_REDUCED, "multipleOf")
        else:
            ctx.add(C.MULTIPLE_OF_CHANGED, "multipleOf")
    if original.integer != update.integer:
        ctx.add(C.TYPE_EXTENDED if original.integer else C.TYPE_NARROWED)


def _enum(ctx: Context, original: EnumNode, update: EnumNode) -> None:
    old, new = original.values, update.values
    if old == new:
        return
    if new >= old:
        ctx.add(C.ENUM_ARRAY_EXTENDED, "enum")
    elif old >= new:
        ctx.add(C.ENUM_ARRAY_NARROWED, "enum")
    else:
        ctx.add(C.ENUM_ARRAY_CHANGED, "enum")


def _const(ctx: Context, original: ConstNode, update: ConstNode) -> None:
    if original.value != update.value:
        ctx.add(C.ENUM_ARRAY_CHANGED, "const")


KIND_COMPARERS.update(
    {StringNode: _string, NumberNode: _number, EnumNode: _enum, ConstNode: _const}
)
