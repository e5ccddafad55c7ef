"""Object rules: required, properties against the content model, dependencies,
additionalProperties, patternProperties, min/maxProperties.

Content models, as Confluent names them: *open* (no additionalProperties or `true`, and no
patternProperties: any other property may appear with any value), *closed*
(`additionalProperties: false`) and *partially open* (other properties allowed but
constrained, by an additionalProperties schema or patternProperties). Adding a property is
judged against the original's model (what could old data already hold under that name?),
removing one against the update's model (what will the new schema say about that name?).
"""

from __future__ import annotations

import re

from .changes import ChangeType as C
from .engine import KIND_COMPARERS, Context, compare, compare_bound, resolve, trial_compare
from .model import MISSING, EmptyNode, FalseNode, Node, ObjectNode, SchemaError


def is_open(node: ObjectNode) -> bool:
    return (
        not node.pattern_properties and node.additional_schema is None and node.permits_additional
    )


def _search(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error as exc:
        raise SchemaError(f"patternProperties: invalid pattern {pattern!r}: {exc}") from exc


def partial_schema(node: ObjectNode, name: str) -> Node | None:
    """The schema a partially open model applies to an undeclared property `name`."""
    for pattern, schema in node.pattern_properties.items():
        if _search(pattern, name):
            return schema
    return node.additional_schema


def _has_default(node: Node) -> bool:
    return node.default is not MISSING


def _required(ctx: Context, original: ObjectNode, update: ObjectNode) -> None:
    with ctx.at("required"):
        for name in original.properties:
            if name not in update.properties:
                continue
            was, now = name in original.required, name in update.required
            if was and not now:
                ctx.add(C.REQUIRED_ATTRIBUTE_REMOVED, name)
            elif now and not was:
                with_default = _has_default(update.properties[name])
                ctx.add(
                    C.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
                    if with_default
                    else C.REQUIRED_ATTRIBUTE_ADDED,
                    name,
                )
        # Our rule, beyond Confluent (a deliberate difference, see the docs): a name newly
        # required but not declared in the update's properties is still required, and old
        # data need not have it.
        for name in update.required:
            if name not in original.required and name not in update.properties:
                ctx.add(C.REQUIRED_ATTRIBUTE_ADDED, name)


def _property_removed(ctx: Context, old: Node, update: ObjectNode, name: str) -> None:
    if is_open(update):
        ctx.add(C.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL)
        return
    partial = partial_schema(update, name)
    if partial is not None:
        trial = trial_compare(ctx, old, partial)
        ctx.extend(trial.diffs)
        ctx.add(
            C.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible()
            else C.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    elif isinstance(resolve(old), FalseNode):
        ctx.add(C.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL)
    else:
        ctx.add(C.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL)


def _property_added(ctx: Context, original: ObjectNode, new: Node, update: ObjectNode, name: str):
    required = name in update.required
    if is_open(original):
        if isinstance(resolve(new), EmptyNode):
            ctx.add(C.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL)
        else:
            ctx.add(C.PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, optional=not required)
        return
    partial = partial_schema(original, name)
    if partial is not None:
        trial = trial_compare(ctx, partial, new)
        ctx.extend(trial.diffs)
        ctx.add(
            C.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible()
            else C.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    if not required:
        ctx.add(C.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL)
    elif _has_default(new):
        ctx.add(C.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL)
    else:
        ctx.add(C.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL)


def _properties(ctx: Context, original: ObjectNode, update: ObjectNode) -> None:
    with ctx.at("properties"):
        for name in dict.fromkeys([*original.properties, *update.properties]):
            old, new = original.properties.get(name), update.properties.get(name)
            with ctx.at(name):
                if new is None:
                    _property_removed(ctx, old, update, name)
                elif old is None:
                    _property_added(ctx, original, new, update, name)
                else:
                    compare(ctx, old, new)


def _governing(node: ObjectNode) -> Node | None:
    """What the model says about undeclared names no pattern of its own matches
    (None: such names are not allowed)."""
    if is_open(node):
        return EmptyNode()
    if not node.permits_additional:
        return None
    return node.additional_schema or EmptyNode()


def _pattern_properties(ctx: Context, original: ObjectNode, update: ObjectNode) -> None:
    """Beyond Confluent, which only uses patternProperties to decide coverage: a pattern
    kept is compared, a pattern added may constrain names old data could hold, a pattern
    dropped hands its names to the update's additionalProperties."""
    with ctx.at("patternProperties"):
        for pattern, new in update.pattern_properties.items():
            old = original.pattern_properties.get(pattern)
            with ctx.at(pattern):
                if old is not None:
                    compare(ctx, old, new)
                    continue
                before = _governing(original)
                if before is not None and not trial_compare(ctx, before, new).compatible():
                    ctx.add(C.ADDITIONAL_PROPERTIES_NARROWED)
        for pattern, old in original.pattern_properties.items():
            if pattern in update.pattern_properties:
                continue
            after = _governing(update)
            with ctx.at(pattern):
                if after is None or not trial_compare(ctx, old, after).compatible():
                    ctx.add(C.ADDITIONAL_PROPERTIES_NARROWED)


def _dependencies(ctx: Context, original: ObjectNode, update: ObjectNode) -> None:
    keywords = dict.fromkeys([*original.property_dependencies, *update.property_dependencies])
    for keyword in keywords:
        olds = original.property_dependencies.get(keyword, {})
        news = update.property_dependencies.get(keyword, {})
        with ctx.at(keyword):
            for name in dict.fromkeys([*olds, *news]):
                if name not in news:
                    ctx.add(C.DEPENDENCY_ARRAY_REMOVED, name)
                elif name not in olds:
                    ctx.add(C.DEPENDENCY_ARRAY_ADDED, name)
                else:
                    old, new = set(olds[name]), set(news[name])
                    if old == new:
                        continue
                    if new >= old:
                        ctx.add(C.DEPENDENCY_ARRAY_EXTENDED, name)
                    elif old >= new:
                        ctx.add(C.DEPENDENCY_ARRAY_NARROWED, name)
                    else:
                        ctx.add(C.DEPENDENCY_ARRAY_CHANGED, name)
    keywords = dict.fromkeys([*original.schema_dependencies, *update.schema_dependencies])
    for keyword in keywords:
        olds = original.schema_dependencies.get(keyword, {})
        news = update.schema_dependencies.get(keyword, {})
        with ctx.at(keyword):
            for name in dict.fromkeys([*olds, *news]):
                if name not in news:
                    ctx.add(C.DEPENDENCY_SCHEMA_REMOVED, name)
                elif name not in olds:
                    ctx.add(C.DEPENDENCY_SCHEMA_ADDED, name)
                else:
                    with ctx.at(name):
                        compare(ctx, olds[name], news[name])


def _additional(ctx: Context, original: ObjectNode, update: ObjectNode) -> None:
    with ctx.at("additionalProperties"):
        if original.permits_additional != update.permits_additional:
            ctx.add(
                C.ADDITIONAL_PROPERTIES_ADDED
                if update.permits_additional
                else C.ADDITIONAL_PROPERTIES_REMOVED
            )
        elif original.additional_schema is None and update.additional_schema is not None:
            ctx.add(C.ADDITIONAL_PROPERTIES_NARROWED)
        elif update.additional_schema is None and original.additional_schema is not None:
            ctx.add(C.ADDITIONAL_PROPERTIES_EXTENDED)
        else:
            compare(ctx, original.additional_schema, update.additional_schema)


def compare_object(ctx: Context, original: ObjectNode, update: ObjectNode) -> None:
    _required(ctx, original, update)
    _properties(ctx, original, update)
    _pattern_properties(ctx, original, update)
    _dependencies(ctx, original, update)
    _additional(ctx, original, update)
    compare_bound(
        ctx, "maxProperties", original.max_properties, update.max_properties, "MAX_PROPERTIES"
    )
    compare_bound(
        ctx, "minProperties", original.min_properties, update.min_properties, "MIN_PROPERTIES"
    )


KIND_COMPARERS[ObjectNode] = compare_object
