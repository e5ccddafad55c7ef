"""The comparison walk: two schema nodes in, differences (with their paths) out.

`compare(ctx, original, update)` records what changed from `original` to `update` at the
context's path. The rules of each kind (diff_scalar, diff_combined, diff_object,
diff_array) register in `KIND_COMPARERS`, so this module never imports them.

Recursive schemas: each (original node, update node) pair is compared once per pass and
memoised. A pair met again while it is still being compared (a cycle) contributes no
differences of its own and is taken to be as compatible as the previous pass found it
(compatible in the first pass). `run` repeats passes until no pair changes its verdict:
the greatest fixed point, so a change deep inside a cycle is not masked by an optimistic
first guess, and wide recursive unions cost a pass per flip instead of exponential time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .changes import ChangeType as C
from .changes import Difference
from .model import (
    MISSING,
    CombinedNode,
    EmptyNode,
    FalseNode,
    Node,
    canonical,
    resolve,
)
from .overlap import exclusive

# Internal marker, never reported: the update accepts more here without a change type
# saying so (anything -> `true`/`{}`, `false` -> anything). The oneOf guard needs to know.
WIDENED = "_WIDENED"

# Changes to annotations only: they cannot make a value match another oneOf branch.
ANNOTATIONS = frozenset({C.ID_CHANGED, C.TITLE_CHANGED, C.DESCRIPTION_CHANGED, C.DEFAULT_CHANGED})

# (change type, path segments, optional) with the path relative to the context root.
Raw = tuple[C, tuple[str, ...], bool | None]


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def render(path: tuple[str, ...]) -> str:
    """Confluent writes paths as '#/' + segments ('#/' is the root)."""
    return "#/" + "/".join(escape(s) for s in path)


Pair = tuple[int, int]


@dataclass
class _Shared:
    is_compatible: Callable[[Difference], bool]
    in_progress: set[Pair] = field(default_factory=set)
    # pair -> (differences relative to the pair, tainted by an incompatible cycle)
    memo: dict[Pair, tuple[list[Raw], bool]] = field(default_factory=dict)
    previous: dict[Pair, bool] = field(default_factory=dict)  # last pass's verdicts

    def verdicts(self) -> dict[Pair, bool]:
        return {
            key: _compatible(self, diffs, tainted) for key, (diffs, tainted) in self.memo.items()
        }


def _compatible(shared: _Shared, diffs: list[Raw], tainted: bool) -> bool:
    check = shared.is_compatible
    return not tainted and all(c is WIDENED or check(Difference(c, "", o)) for c, _, o in diffs)


class Context:
    def __init__(self, shared: _Shared, path: tuple[str, ...] = ()):
        self.shared = shared
        self.path = path
        self.diffs: list[Raw] = []
        # set when a cycle leads back to a pair the previous pass found incompatible
        self.tainted = False

    def sub(self) -> Context:
        """A trial context at the same place: its findings are kept only if chosen."""
        return Context(self.shared, self.path)

    @contextmanager
    def at(self, *segments: str) -> Iterator[None]:
        saved = self.path
        self.path = saved + segments
        try:
            yield
        finally:
            self.path = saved

    def add(self, change: C, *segments: str, optional: bool | None = None) -> None:
        self.diffs.append((change, self.path + segments, optional))

    def extend(self, diffs: list[Raw]) -> None:
        self.diffs.extend(diffs)

    def compatible(self) -> bool:
        return _compatible(self.shared, self.diffs, self.tainted)

    def differences(self) -> list[Difference]:
        return [Difference(c, render(p), o) for c, p, o in self.diffs if c is not WIDENED]


KIND_COMPARERS: dict[type, Callable[[Context, Node, Node], None]] = {}


def compare(ctx: Context, original: Node | None, update: Node | None) -> None:
    if original is None and update is None:
        return
    if original is None:
        ctx.add(C.SCHEMA_ADDED)
        return
    if update is None:
        ctx.add(C.SCHEMA_REMOVED)
        return
    original, update = resolve(original), resolve(update)
    key = (id(original), id(update))
    shared = ctx.shared
    if key in shared.in_progress:
        if not shared.previous.get(key, True):
            ctx.tainted = True
        return
    if key not in shared.memo:
        shared.in_progress.add(key)
        inner = Context(shared)
        try:
            _compare_resolved(inner, original, update)
        finally:
            shared.in_progress.discard(key)
        shared.memo[key] = (inner.diffs, inner.tainted)
    diffs, tainted = shared.memo[key]
    ctx.extend([(c, ctx.path + p, o) for c, p, o in diffs])
    ctx.tainted = ctx.tainted or tainted


MAX_PASSES = 64


def run(
    original: Node, update: Node, is_compatible: Callable[[Difference], bool]
) -> list[Difference]:
    """All differences from `original` to `update`, at the greatest fixed point."""
    previous: dict[Pair, bool] = {}
    limit = sys.getrecursionlimit()
    # A pass walks as deep as the longest chain of distinct node pairs (about ten frames
    # each); recursive unions over many definitions go past Python's default limit.
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        for _ in range(MAX_PASSES):
            shared = _Shared(is_compatible, previous=previous)
            ctx = Context(shared)
            compare(ctx, original, update)
            verdicts = shared.verdicts()
            if all(previous.get(k, True) == v for k, v in verdicts.items()):
                break
            previous = verdicts
    finally:
        sys.setrecursionlimit(limit)
    return ctx.differences()


def trial_compare(ctx: Context, original: Node, update: Node) -> Context:
    trial = ctx.sub()
    compare(trial, original, update)
    return trial


def _compare_resolved(ctx: Context, original: Node, update: Node) -> None:
    o_comb, u_comb = isinstance(original, CombinedNode), isinstance(update, CombinedNode)
    if not o_comb and u_comb:
        subs = update.subschemas
        if len(subs) == 1:
            trial = trial_compare(ctx, original, subs[0])
            if trial.compatible():
                ctx.extend(trial.diffs)
                return
        elif update.criterion in ("anyOf", "oneOf"):
            # A value of the original kind now sits in one branch of a union.
            for sub in subs:
                trial = trial_compare(ctx, original, sub)
                if trial.compatible():
                    ctx.extend(trial.diffs)
                    ctx.add(C.SUM_TYPE_EXTENDED)
                    guard_one_of(ctx, update, since=0)
                    return
    elif o_comb and not u_comb:
        subs = original.subschemas
        if len(subs) == 1:
            trial = trial_compare(ctx, subs[0], update)
            if trial.compatible():
                ctx.extend(trial.diffs)
                return
        elif original.criterion == "allOf":
            # Dropping conjuncts only relaxes: one of them matching the update suffices.
            for sub in subs:
                trial = trial_compare(ctx, sub, update)
                if trial.compatible():
                    ctx.extend(trial.diffs)
                    ctx.add(C.PRODUCT_TYPE_NARROWED)
                    return

    if type(original) is not type(update):
        # Anything may become `true`/`{}`, and `false` may become anything.
        if isinstance(original, FalseNode) or isinstance(update, EmptyNode):
            ctx.add(WIDENED)
        else:
            ctx.add(C.TYPE_CHANGED)
        return

    _compare_annotations(ctx, original, update)
    requires_o = getattr(original, "requires_type", None)
    requires_u = getattr(update, "requires_type", None)
    if requires_o is not None and requires_o != requires_u:
        # Our rule, beyond Confluent: `{"properties": ...}` also accepts non-objects, so
        # adding `"type": "object"` narrows (and dropping it widens).
        ctx.add(C.TYPE_NARROWED if requires_u else C.TYPE_EXTENDED)
    comparer = KIND_COMPARERS.get(type(original))
    if comparer is not None:
        comparer(ctx, original, update)


def _compare_annotations(ctx: Context, original: Node, update: Node) -> None:
    if original.id != update.id:
        ctx.add(C.ID_CHANGED)
    if original.title != update.title:
        ctx.add(C.TITLE_CHANGED)
    if original.description != update.description:
        ctx.add(C.DESCRIPTION_CHANGED)
    o_def, u_def = original.default, update.default
    if (o_def is MISSING) != (u_def is MISSING) or (
        o_def is not MISSING and canonical(o_def) != canonical(u_def)
    ):
        ctx.add(C.DEFAULT_CHANGED)


def _bound(
    ctx: Context, name: str, old, new, added: C, removed: C, increased: C, decreased: C
) -> None:
    if old == new:
        return
    if old is None:
        ctx.add(added, name)
    elif new is None:
        ctx.add(removed, name)
    elif old < new:
        ctx.add(increased, name)
    else:
        ctx.add(decreased, name)


def compare_bound(ctx: Context, name: str, old, new, prefix: str) -> None:
    """`prefix` names the family: MAX_LENGTH -> MAX_LENGTH_ADDED / _REMOVED / ..."""
    _bound(
        ctx,
        name,
        old,
        new,
        C[f"{prefix}_ADDED"],
        C[f"{prefix}_REMOVED"],
        C[f"{prefix}_INCREASED"],
        C[f"{prefix}_DECREASED"],
    )


def guard_one_of(ctx: Context, update: CombinedNode, since: int) -> None:
    """Our rule, beyond Confluent: a oneOf whose branches may overlap cannot gain or widen
    a branch without risking that an old value now matches two branches (then it is no
    longer valid). See overlap.py."""
    if update.criterion != "oneOf" or exclusive(update):
        return
    if any(c not in ANNOTATIONS for c, _, _ in ctx.diffs[since:]):
        ctx.add(C.COMBINED_TYPE_SUBSCHEMAS_CHANGED)
