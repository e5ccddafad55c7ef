"""Whether the branches of a oneOf can never accept the same value.

Confluent calls a oneOf that gains a branch (SUM_TYPE_EXTENDED) or whose branches widen
compatible. That holds only while no value matches two branches: a document valid under the
old oneOf matched exactly one branch, and matching a second one in the new schema makes it
invalid. This module answers, conservatively (True only when provable), whether the branches
are pairwise disjoint: by the JSON types they admit, by enum/const value sets, or by a
shared required property whose schemas are themselves disjoint (a discriminator).
"""

from __future__ import annotations

from itertools import combinations

from .model import (
    ArrayNode,
    BooleanNode,
    CombinedNode,
    ConstNode,
    EnumNode,
    FalseNode,
    Node,
    NullNode,
    NumberNode,
    ObjectNode,
    StringNode,
    resolve,
)

ALL = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
_SIMPLE = {BooleanNode: "boolean", NullNode: "null"}
_TYPED = {ObjectNode: "object", ArrayNode: "array", StringNode: "string"}


def _value_type(canonical_value: str) -> str:
    first = canonical_value[:1]
    if canonical_value == "null":
        return "null"
    if canonical_value in ("true", "false"):
        return "boolean"
    if first == '"':
        return "string"
    if first == "[":
        return "array"
    if first == "{":
        return "object"
    return "number" if any(ch in canonical_value for ch in ".eE") else "integer"


def types(node: Node) -> frozenset[str]:
    """JSON types the schema may accept ("number" meaning non-integral numbers)."""
    node = resolve(node)
    if isinstance(node, FalseNode):
        return frozenset()
    if type(node) in _SIMPLE:
        return frozenset({_SIMPLE[type(node)]})
    if type(node) in _TYPED:
        return frozenset({_TYPED[type(node)]}) if node.requires_type else ALL
    if isinstance(node, NumberNode):
        if not node.requires_type:
            return ALL
        return frozenset({"integer"} if node.integer else {"integer", "number"})
    if isinstance(node, EnumNode | ConstNode):
        return frozenset(_value_type(v) for v in values(node))
    if isinstance(node, CombinedNode):
        sets = [types(s) for s in node.subschemas]
        if node.criterion == "allOf":
            return frozenset.intersection(*sets)
        return frozenset.union(*sets)
    return ALL


def values(node: Node) -> frozenset[str] | None:
    """The canonical values the schema is limited to, or None when not limited so."""
    node = resolve(node)
    if isinstance(node, EnumNode):
        return node.values
    if isinstance(node, ConstNode):
        return frozenset({node.value})
    if isinstance(node, CombinedNode) and node.criterion == "allOf":
        limited = [v for v in (values(s) for s in node.subschemas) if v is not None]
        return frozenset.intersection(*limited) if limited else None
    return None


def _object_part(node: Node) -> ObjectNode | None:
    node = resolve(node)
    if isinstance(node, ObjectNode):
        return node
    if isinstance(node, CombinedNode) and node.criterion == "allOf":
        parts = [p for p in (_object_part(s) for s in node.subschemas) if p is not None]
        return parts[0] if len(parts) == 1 else None
    return None


def disjoint(a: Node, b: Node, depth: int = 0) -> bool:
    if not types(a) & types(b):
        return True
    va, vb = values(a), values(b)
    if va is not None and vb is not None and not va & vb:
        return True
    oa, ob = _object_part(a), _object_part(b)
    if oa is None or ob is None or depth > 8:
        return False
    shared = set(oa.required) & set(ob.required) & oa.properties.keys() & ob.properties.keys()
    return any(disjoint(oa.properties[p], ob.properties[p], depth + 1) for p in sorted(shared))


def exclusive(node: CombinedNode) -> bool:
    return all(disjoint(a, b) for a, b in combinations(node.subschemas, 2))
