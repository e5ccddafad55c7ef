"""Array rules: the items schema, tuples (items array / prefixItems) against the content
model of additionalItems, contains, min/maxItems, uniqueItems, min/maxContains.

A tuple position added or removed is judged like a property: against the original's model
when added (could old arrays already hold an element there?), the update's when removed.
"""

from __future__ import annotations

from .changes import ChangeType as C
from .engine import KIND_COMPARERS, Context, compare, compare_bound, resolve, trial_compare
from .model import ArrayNode, EmptyNode, FalseNode, Node


def is_open(node: ArrayNode) -> bool:
    return node.permits_additional and node.additional_schema is None


def _item_removed(ctx: Context, old: Node, update: ArrayNode) -> None:
    if is_open(update):
        ctx.add(C.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL)
    elif update.additional_schema is not None:
        trial = trial_compare(ctx, old, update.additional_schema)
        ctx.extend(trial.diffs)
        ctx.add(
            C.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible()
            else C.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    elif isinstance(resolve(old), FalseNode):
        ctx.add(C.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL)
    else:
        ctx.add(C.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL)


def _item_added(ctx: Context, original: ArrayNode, new: Node) -> None:
    if is_open(original):
        ctx.add(
            C.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
            if isinstance(resolve(new), EmptyNode)
            else C.ITEM_ADDED_TO_OPEN_CONTENT_MODEL
        )
    elif original.additional_schema is not None:
        trial = trial_compare(ctx, original.additional_schema, new)
        ctx.extend(trial.diffs)
        ctx.add(
            C.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible()
            else C.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    else:
        # Old arrays were closed after the tuple: nothing of theirs sits at this index.
        ctx.add(C.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL)


def _tuple(ctx: Context, original: ArrayNode, update: ArrayNode) -> None:
    olds, news = original.tuple_items or [], update.tuple_items or []
    keyword = original.tuple_keyword if original.tuple_items is not None else update.tuple_keyword
    for index in range(max(len(olds), len(news))):
        with ctx.at(keyword, str(index)):
            if index < len(olds) and index < len(news):
                compare(ctx, olds[index], news[index])
            elif index < len(olds):
                _item_removed(ctx, olds[index], update)
            else:
                _item_added(ctx, original, news[index])


def _additional(ctx: Context, original: ArrayNode, update: ArrayNode) -> None:
    with ctx.at("additionalItems"):
        if original.permits_additional != update.permits_additional:
            ctx.add(
                C.ADDITIONAL_ITEMS_REMOVED
                if original.permits_additional
                else C.ADDITIONAL_ITEMS_ADDED
            )
        elif original.additional_schema is None and update.additional_schema is not None:
            ctx.add(C.ADDITIONAL_ITEMS_NARROWED)
        elif update.additional_schema is None and original.additional_schema is not None:
            ctx.add(C.ADDITIONAL_ITEMS_EXTENDED)
        else:
            compare(ctx, original.additional_schema, update.additional_schema)


def compare_array(ctx: Context, original: ArrayNode, update: ArrayNode) -> None:
    with ctx.at("items"):
        compare(ctx, original.all_items, update.all_items)
    _tuple(ctx, original, update)
    _additional(ctx, original, update)
    # Beyond Confluent, which leaves `contains` itself uncompared: the element old arrays
    # were guaranteed to hold must satisfy the new `contains`.
    with ctx.at("contains"):
        compare(ctx, original.contains, update.contains)
    compare_bound(ctx, "maxItems", original.max_items, update.max_items, "MAX_ITEMS")
    compare_bound(ctx, "minItems", original.min_items, update.min_items, "MIN_ITEMS")
    if original.unique_items != update.unique_items:
        ctx.add(
            C.UNIQUE_ITEMS_REMOVED if original.unique_items else C.UNIQUE_ITEMS_ADDED,
            "uniqueItems",
        )
    compare_bound(ctx, "maxContains", original.max_contains, update.max_contains, "MAX_CONTAINS")
    compare_bound(ctx, "minContains", original.min_contains, update.min_contains, "MIN_CONTAINS")


KIND_COMPARERS[ArrayNode] = compare_array
