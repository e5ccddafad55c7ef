"""A JSON Schema document read into typed nodes, the shape the differ compares.

The differ reasons about *kinds* of schema (object, array, string, number, enum, const,
combined, not, true/false), the way Confluent's differ sees the everit schema model: a schema
object whose keywords describe several kinds at once (say `type: string` plus `enum`) becomes
a synthetic `allOf` of one node per kind; a `type` array becomes an `anyOf` of one node per
type (so nullability is `anyOf[..., null]`); without `type`, the keywords present decide
which kinds apply (`properties` -> object, `maxLength` -> string, ...) and the node records
that the kind was not required. `$ref` within the document is resolved lazily, so recursive
schemas load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

MISSING: Any = object()


class SchemaError(ValueError):
    """The document is not a JSON Schema this module can read (with where and why)."""


OBJECT_KEYWORDS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
        "maxProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "propertyNames",
        "unevaluatedProperties",
    }
)
ARRAY_KEYWORDS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
    }
)
STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "format"})
NUMBER_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
TYPE_NAMES = ("object", "array", "string", "number", "integer", "boolean", "null")


def canonical(value: Any) -> str:
    """A key under which JSON values equal in JSON's sense are equal (1 == 1.0, but
    true != 1), for enum sets and for collapsing duplicate subschemas."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"))


@dataclass(eq=False)
class Node:
    raw: Any = None
    id: Any = MISSING
    title: Any = MISSING
    description: Any = MISSING
    default: Any = MISSING


@dataclass(eq=False)
class EmptyNode(Node):
    """`true` or `{}`: accepts everything."""


@dataclass(eq=False)
class FalseNode(Node):
    """`false`: accepts nothing."""


@dataclass(eq=False)
class ObjectNode(Node):
    requires_type: bool = True
    properties: dict[str, Node] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    # additionalProperties: absent/true -> (True, None); false -> (False, None);
    # a schema -> (True, node).
    permits_additional: bool = True
    additional_schema: Node | None = None
    pattern_properties: dict[str, Node] = field(default_factory=dict)
    # keyword -> {property: [names]} / {property: node}
    property_dependencies: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    schema_dependencies: dict[str, dict[str, Node]] = field(default_factory=dict)
    min_properties: int | None = None
    max_properties: int | None = None


@dataclass(eq=False)
class ArrayNode(Node):
    requires_type: bool = True
    all_items: Node | None = None
    tuple_items: list[Node] | None = None
    tuple_keyword: str = "items"
    permits_additional: bool = True
    additional_schema: Node | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    contains: Node | None = None
    min_contains: int | None = None
    max_contains: int | None = None


@dataclass(eq=False)
class StringNode(Node):
    requires_type: bool = True
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(eq=False)
class NumberNode(Node):
    requires_type: bool = True
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: float | None = None


@dataclass(eq=False)
class BooleanNode(Node):
    pass


@dataclass(eq=False)
class NullNode(Node):
    pass


@dataclass(eq=False)
class EnumNode(Node):
    values: frozenset[str] = frozenset()  # canonical() of each permitted value


@dataclass(eq=False)
class ConstNode(Node):
    value: str = ""  # canonical() of the permitted value


@dataclass(eq=False)
class CombinedNode(Node):
    criterion: str = "allOf"  # allOf | anyOf | oneOf
    subschemas: list[Node] = field(default_factory=list)
    synthetic: bool = False


@dataclass(eq=False)
class NotNode(Node):
    must_not: Node | None = None


@dataclass(eq=False)
class RefNode(Node):
    ref: str = ""
    loader: Loader | None = None


_KIND_KEYWORDS: dict[type, frozenset[str]] = {}


def _own_keywords(part: Node, raw: dict) -> set[str]:
    if isinstance(part, RefNode):
        own: set[str] = {"$ref"}
    elif isinstance(part, EnumNode):
        own = {"enum"}
    elif isinstance(part, ConstNode):
        own = {"const"}
    elif isinstance(part, NotNode):
        own = {"not"}
    elif isinstance(part, CombinedNode) and part.raw is raw:
        own = {part.criterion}
    else:
        own = {"type"} | _KIND_KEYWORDS.get(type(part), set())
        if isinstance(part, CombinedNode):  # a `type` array: every typed keyword
            own |= OBJECT_KEYWORDS | ARRAY_KEYWORDS | STRING_KEYWORDS | NUMBER_KEYWORDS
    return own & raw.keys()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(raw: dict, key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{where}: '{key}' must be a number")
    return value


class Loader:
    """Reads one schema document; `$ref`s resolve against it, each target loaded once."""

    def __init__(self, document: Any):
        self.document = document
        self._by_pointer: dict[str, Node] = {}
        self.root = self.load(document, "#")

    # -- references ---------------------------------------------------------------------
    def resolve(self, node: Node) -> Node:
        seen: set[str] = set()
        while isinstance(node, RefNode):
            if node.ref in seen:
                raise SchemaError(f"$ref cycle without a schema in between: {node.ref}")
            seen.add(node.ref)
            node = node.loader._target(node.ref)
        return node

    def _target(self, ref: str) -> Node:
        if ref in self._by_pointer:
            return self._by_pointer[ref]
        if not ref.startswith("#"):
            raise SchemaError(f"$ref '{ref}': only references within the document are supported")
        target = self.document
        tokens = ref[1:].split("/")[1:] if ref != "#" else []
        for token in tokens:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise SchemaError(f"$ref '{ref}' points at nothing in the document")
        node = self.root if ref == "#" and hasattr(self, "root") else self.load(target, ref)
        self._by_pointer[ref] = node
        return node

    # -- loading ------------------------------------------------------------------------
    def load(self, raw: Any, where: str) -> Node:
        if raw is True:
            return EmptyNode(raw=raw)
        if raw is False:
            return FalseNode(raw=raw)
        if not isinstance(raw, dict):
            raise SchemaError(f"{where}: a schema must be an object or a boolean")
        parts: list[Node] = []
        if "$ref" in raw:
            if not isinstance(raw["$ref"], str):
                raise SchemaError(f"{where}: '$ref' must be a string")
            parts.append(RefNode(raw=raw, ref=raw["$ref"], loader=self))
        if "enum" in raw:
            if not isinstance(raw["enum"], list):
                raise SchemaError(f"{where}: 'enum' must be an array")
            parts.append(EnumNode(raw=raw, values=frozenset(canonical(v) for v in raw["enum"])))
        if "const" in raw:
            parts.append(ConstNode(raw=raw, value=canonical(raw["const"])))
        for criterion in ("allOf", "anyOf", "oneOf"):
            if criterion in raw:
                subs = raw[criterion]
                if not isinstance(subs, list) or not subs:
                    raise SchemaError(f"{where}: '{criterion}' must be a non-empty array")
                parts.append(
                    CombinedNode(
                        raw=raw,
                        criterion=criterion,
                        subschemas=[
                            self.load(s, f"{where}/{criterion}/{i}") for i, s in enumerate(subs)
                        ],
                    )
                )
        if "not" in raw:
            parts.append(NotNode(raw=raw, must_not=self.load(raw["not"], f"{where}/not")))
        parts.extend(self._typed_parts(raw, where))
        if not parts:
            node: Node = EmptyNode(raw=raw)
        elif len(parts) == 1:
            node = parts[0]
        else:
            # Each part of a synthetic allOf is identified by its own keywords only, so
            # duplicate detection in allOf/anyOf/oneOf sees what the part really says.
            for part in parts:
                part.raw = [type(part).__name__, {k: raw[k] for k in _own_keywords(part, raw)}]
            node = CombinedNode(raw=raw, criterion="allOf", subschemas=parts, synthetic=True)
        node.id = raw.get("$id", raw.get("id", MISSING))
        node.title = raw.get("title", MISSING)
        node.description = raw.get("description", MISSING)
        node.default = raw.get("default", MISSING)
        return node

    def _typed_parts(self, raw: dict, where: str) -> list[Node]:
        declared = raw.get("type", MISSING)
        if declared is MISSING:
            keys = raw.keys()
            kinds = [
                kind
                for kind, keywords in (
                    ("object", OBJECT_KEYWORDS),
                    ("array", ARRAY_KEYWORDS),
                    ("string", STRING_KEYWORDS),
                    ("number", NUMBER_KEYWORDS),
                )
                if keywords & keys
            ]
            return [self._typed(kind, raw, where, requires_type=False) for kind in kinds]
        if isinstance(declared, str):
            return [self._typed(declared, raw, where, requires_type=True)]
        if isinstance(declared, list) and declared:
            subs = [self._typed(t, raw, where, requires_type=True) for t in declared]
            return [CombinedNode(raw={"type": declared}, criterion="anyOf", subschemas=subs)]
        raise SchemaError(f"{where}: 'type' must be a type name or a non-empty array of them")

    def _typed(self, kind: Any, raw: dict, where: str, requires_type: bool) -> Node:
        if kind not in TYPE_NAMES:
            raise SchemaError(f"{where}: unknown type {kind!r}")
        if kind == "object":
            return self._object(raw, where, requires_type)
        if kind == "array":
            return self._array(raw, where, requires_type)
        if kind == "string":
            pattern = raw.get("pattern")
            return StringNode(
                raw=raw,
                requires_type=requires_type,
                min_length=_number(raw, "minLength", where),
                max_length=_number(raw, "maxLength", where),
                pattern=pattern if isinstance(pattern, str) else None,
            )
        if kind in ("number", "integer"):
            return self._number_node(raw, where, requires_type, integer=kind == "integer")
        if kind == "boolean":
            return BooleanNode(raw=raw)
        return NullNode(raw=raw)

    def _number_node(self, raw: dict, where: str, requires_type: bool, integer: bool) -> Node:
        minimum = _number(raw, "minimum", where)
        maximum = _number(raw, "maximum", where)
        ex_min, ex_max = raw.get("exclusiveMinimum"), raw.get("exclusiveMaximum")
        # Draft 4 wrote exclusivity as a boolean beside minimum/maximum: read it as the
        # later numeric form so both drafts compare alike.
        if ex_min is True:
            ex_min, minimum = minimum, None
        elif ex_min is False:
            ex_min = None
        if ex_max is True:
            ex_max, maximum = maximum, None
        elif ex_max is False:
            ex_max = None
        for key, value in (("exclusiveMinimum", ex_min), ("exclusiveMaximum", ex_max)):
            if value is not None and not _is_number(value):
                raise SchemaError(f"{where}: '{key}' must be a number")
        multiple_of = _number(raw, "multipleOf", where)
        if multiple_of is not None and multiple_of <= 0:
            raise SchemaError(f"{where}: 'multipleOf' must be greater than 0")
        return NumberNode(
            raw=raw,
            requires_type=requires_type,
            integer=integer,
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=ex_min,
            exclusive_maximum=ex_max,
            multiple_of=multiple_of,
        )

    def _object(self, raw: dict, where: str, requires_type: bool) -> ObjectNode:
        props = raw.get("properties", {})
        if not isinstance(props, dict):
            raise SchemaError(f"{where}: 'properties' must be an object")
        required = raw.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise SchemaError(f"{where}: 'required' must be an array of property names")
        node = ObjectNode(
            raw=raw,
            requires_type=requires_type,
            properties={k: self.load(v, f"{where}/properties/{k}") for k, v in props.items()},
            required=list(dict.fromkeys(required)),
            pattern_properties={
                k: self.load(v, f"{where}/patternProperties/{k}")
                for k, v in (raw.get("patternProperties") or {}).items()
            },
            min_properties=_number(raw, "minProperties", where),
            max_properties=_number(raw, "maxProperties", where),
        )
        # unevaluatedProperties closes (or partially opens) a schema the same way when
        # additionalProperties is absent; that is how 2019-09+ schemas are usually closed.
        extra = raw.get("additionalProperties", raw.get("unevaluatedProperties", True))
        if extra is False:
            node.permits_additional = False
        elif extra is not True:
            node.additional_schema = self.load(extra, f"{where}/additionalProperties")
        for keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
            for name, dep in (raw.get(keyword) or {}).items():
                if isinstance(dep, list):
                    node.property_dependencies.setdefault(keyword, {})[name] = dep
                else:
                    node.schema_dependencies.setdefault(keyword, {})[name] = self.load(
                        dep, f"{where}/{keyword}/{name}"
                    )
        return node

    def _array(self, raw: dict, where: str, requires_type: bool) -> ArrayNode:
        node = ArrayNode(
            raw=raw,
            requires_type=requires_type,
            min_items=_number(raw, "minItems", where),
            max_items=_number(raw, "maxItems", where),
            unique_items=raw.get("uniqueItems") is True,
            min_contains=_number(raw, "minContains", where),
            max_contains=_number(raw, "maxContains", where),
        )
        items = raw.get("items", MISSING)
        if "prefixItems" in raw:
            # 2020-12: prefixItems is the tuple and `items` the schema of the rest.
            node.tuple_keyword = "prefixItems"
            node.tuple_items = [
                self.load(s, f"{where}/prefixItems/{i}") for i, s in enumerate(raw["prefixItems"])
            ]
            rest = items
        elif isinstance(items, list):
            node.tuple_items = [self.load(s, f"{where}/items/{i}") for i, s in enumerate(items)]
            rest = raw.get("additionalItems", raw.get("unevaluatedItems", MISSING))
        else:
            if items is not MISSING:
                node.all_items = self.load(items, f"{where}/items")
            rest = raw.get("additionalItems", MISSING)
        if rest is False:
            node.permits_additional = False
        elif rest is not MISSING and rest is not True:
            node.additional_schema = self.load(rest, f"{where}/additionalItems")
        if "contains" in raw:
            node.contains = self.load(raw["contains"], f"{where}/contains")
        return node


def resolve(node: Node) -> Node:
    if isinstance(node, RefNode):
        return node.loader.resolve(node)
    return node


_KIND_KEYWORDS.update(
    {
        ObjectNode: OBJECT_KEYWORDS,
        ArrayNode: ARRAY_KEYWORDS,
        StringNode: STRING_KEYWORDS,
        NumberNode: NUMBER_KEYWORDS,
    }
)


def node_key(node: Node) -> str:
    """Identity of a subschema for collapsing duplicates in allOf/anyOf/oneOf."""
    key = node.__dict__.get("_key")
    if key is None:
        key = node.__dict__["_key"] = f"{type(node).__name__}:{canonical(node.raw)}"
    return key


def load_schema(document: Any) -> Node:
    """The root node of a schema document (JSON already parsed)."""
    return Loader(document).root
