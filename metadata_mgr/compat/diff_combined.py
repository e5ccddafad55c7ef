"""allOf / anyOf / oneOf against each other, and `not`.

The branches of the original are matched to the update's by a maximum bipartite matching
over compatible pairs (duplicates collapsed): every branch of the smaller side must find a
compatible partner, as in Confluent's differ.
"""

from __future__ import annotations

from .changes import ChangeType as C
from .engine import KIND_COMPARERS, Context, Raw, guard_one_of, trial_compare
from .model import CombinedNode, Node, NotNode, node_key


def _not(ctx: Context, original: NotNode, update: NotNode) -> None:
    with ctx.at("not"):
        # What `not` excludes must not grow: compare the negated schemas the other way.
        trial = trial_compare(ctx, update.must_not, original.must_not)
        ctx.add(C.NOT_TYPE_NARROWED if trial.compatible() else C.NOT_TYPE_EXTENDED)


def _criteria_change(original: CombinedNode, update: CombinedNode) -> C | None:
    if original.criterion == update.criterion:
        return None
    if update.criterion == "anyOf":
        return C.COMBINED_TYPE_EXTENDED
    if update.criterion == "oneOf":
        singleton = len(original.subschemas) == 1
        return C.COMBINED_TYPE_EXTENDED if singleton else C.COMBINED_TYPE_CHANGED
    if len(original.subschemas) == 1 and len(update.subschemas) == 1:
        return C.COMBINED_TYPE_EXTENDED
    return C.COMBINED_TYPE_CHANGED


def _dedupe(nodes: list[Node]) -> list[Node]:
    seen: dict[str, Node] = {}
    for node in nodes:
        seen.setdefault(node_key(node), node)
    return list(seen.values())


def _max_matching(n_left: int, edges: dict[tuple[int, int], list[Raw]]) -> list[tuple[int, int]]:
    """Maximum bipartite matching (augmenting paths), preferring edges with fewer changes
    so that the reported differences are the smallest explanation."""
    adjacency: dict[int, list[int]] = {i: [] for i in range(n_left)}
    for (i, j), _ in sorted(edges.items(), key=lambda e: (len(e[1]), e[0][1])):
        adjacency[i].append(j)
    match_right: dict[int, int] = {}

    def augment(i: int, visited: set[int]) -> bool:
        for j in adjacency[i]:
            if j in visited:
                continue
            visited.add(j)
            if j not in match_right or augment(match_right[j], visited):
                match_right[j] = i
                return True
        return False

    for i in range(n_left):
        augment(i, set())
    return sorted((i, j) for j, i in match_right.items())


def _combined(ctx: Context, original: CombinedNode, update: CombinedNode) -> None:
    since = len(ctx.diffs)
    change = _criteria_change(original, update)
    if change is not None:
        ctx.add(change)
        if change is C.COMBINED_TYPE_CHANGED:
            return
    olds, news = _dedupe(original.subschemas), _dedupe(update.subschemas)
    product = update.criterion == "allOf"
    if len(olds) < len(news):
        ctx.add(C.PRODUCT_TYPE_EXTENDED if product else C.SUM_TYPE_EXTENDED)
    elif len(olds) > len(news):
        ctx.add(C.PRODUCT_TYPE_NARROWED if product else C.SUM_TYPE_NARROWED)
    edges: dict[tuple[int, int], list[Raw]] = {}
    for i, old in enumerate(olds):
        with ctx.at(original.criterion, str(i)):
            for j, new in enumerate(news):
                trial = trial_compare(ctx, old, new)
                if trial.compatible():
                    edges[(i, j)] = trial.diffs
    matching = _max_matching(len(olds), edges)
    for edge in matching:
        ctx.extend(edges[edge])
    if len(matching) < min(len(olds), len(news)):
        ctx.add(C.COMBINED_TYPE_SUBSCHEMAS_CHANGED)
    else:
        guard_one_of(ctx, update, since)


KIND_COMPARERS.update({NotNode: _not, CombinedNode: _combined})
