"""Automatic schema evolution: from records that no longer fit, propose the next version.

    evolve(history, records, mode) -> Evolution(schema, result, edits, unresolved)

Each record is validated against the proposal; every failure is answered by the smallest
widening of the keyword that failed, chosen so that Confluent's rules see a compatible
change wherever one exists: a type becomes a type union (`"string"` -> `["string", "null"]`,
`integer` -> `number`), an enum gains the value, a const becomes an anyOf of consts, a bound
moves just far enough (maxLength up to the record's length, exclusiveMaximum past it), a
multipleOf shrinks to the gcd, a pattern, uniqueItems or `not` is dropped, a missing
required name stops being required, an unexpected property in a closed object is declared
as an optional property with a schema inferred from the value, a union gains a branch
inferred from the value (a oneOf first becomes an anyOf, as a new branch could overlap
another). Rounds repeat until every record validates or nothing more can be
done (the records left are `unresolved`). The proposal is then checked in the subject's
mode; registering it is the caller's decision.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import ValidationError

from .checker import (
    BreakingRecord,
    CompatibilityMode,
    CompatibilityResult,
    breaking_records,
    check,
    validator_for,
)
from .model import canonical

MAX_ROUNDS = 25


@dataclass(frozen=True)
class Edit:
    pointer: str  # the schema location changed, "#/properties/a/maxLength"
    action: str
    detail: str


@dataclass
class Evolution:
    schema: Any
    result: CompatibilityResult
    edits: list[Edit] = field(default_factory=list)
    unresolved: list[BreakingRecord] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.edits)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if math.isfinite(value) and value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_schema(value: Any) -> dict[str, Any]:
    """A schema for one observed value: its type, with object properties and array items
    inferred too (left optional and open: the loosest schema that still says something)."""
    kind = json_type(value)
    if kind == "object":
        return {"type": "object", "properties": {k: infer_schema(v) for k, v in value.items()}}
    if kind == "array":
        schema: dict[str, Any] = {"type": "array"}
        items = [infer_schema(v) for v in value]
        if items and len({canonical(i) for i in items}) == 1:
            schema["items"] = items[0]
        elif items and all(set(i) == {"type"} for i in items):
            schema["items"] = {"type": sorted({i["type"] for i in items})}
        return schema
    return {"type": kind}


def _locate(root: Any, path: list[Any], keyword: Any = None) -> tuple[Any, list[Any]]:
    """(the subschema at `path`, its real path in the document). `path` is jsonschema's
    absolute_schema_path without the keyword; jsonschema leaves `$ref` out of it, so a step
    (or the keyword) missing beside a `$ref` continues in the referenced schema."""
    node, real = root, []
    for step in [*path, keyword]:
        while isinstance(node, dict) and step not in node and isinstance(node.get("$ref"), str):
            node, real = _resolve(root, node["$ref"])
        if step is keyword:
            break
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return None, real
        real = [*real, step]
    return node, real


def _resolve(root: Any, ref: str) -> tuple[Any, list[Any]]:
    node, real = root, []
    for token in ref[2:].split("/") if ref.startswith("#/") else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return None, real
        node, real = node[token], [*real, token]
    return node, real


class _Fixer:
    def __init__(self, schema: Any):
        self.schema = schema
        self.edits: list[Edit] = []

    def note(self, path: list[Any], action: str, detail: str) -> None:
        pointer = "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
        self.edits.append(Edit(pointer, action, detail))

    def fix(self, error: ValidationError, document: Any) -> bool:
        path = list(error.absolute_schema_path)
        keyword = error.validator
        if keyword is None:  # a `false` subschema refused the value
            parent = document
            for step in error.absolute_path:
                parent = parent[step]
            return self._replace_false(path, parent)
        sub, real = _locate(self.schema, path[:-1], keyword)
        if not isinstance(sub, dict) or keyword not in sub:
            return False
        handler = getattr(self, f"_fix_{keyword}", None)
        if handler is None:
            return False
        return handler(sub, [*real, keyword], error.instance)

    def _replace_false(self, path: list[Any], parent: Any) -> bool:
        # jsonschema reports a `false` subschema without the step into it: its schema path
        # stops at the keyword holding the `false` (properties, items, ...) and its instance
        # path at the value holding the refused entry. Every `false` entry the value uses
        # is replaced.
        container, real = _locate(self.schema, path)
        if isinstance(container, dict) and isinstance(parent, dict):
            keys = [k for k, v in container.items() if v is False and k in parent]
        elif isinstance(container, list) and isinstance(parent, list):
            keys = [i for i, v in enumerate(container) if v is False and i < len(parent)]
        else:
            return False
        for key in keys:
            container[key] = infer_schema(parent[key])
            self.note([*real, key], "replaced", "false -> a schema of the observed value")
        return bool(keys)

    def _fix_type(self, sub: dict, path: list, instance: Any) -> bool:
        types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
        kind = json_type(instance)
        if kind == "integer" and "number" in types:
            return False
        if kind == "number" and "integer" in types:
            types = [("number" if t == "integer" else t) for t in types]
        elif kind not in types:
            types = [*types, kind]
        else:
            return False
        sub["type"] = types[0] if len(types) == 1 else types
        self.note(path, "widened", f"type -> {sub['type']}")
        return True

    def _fix_enum(self, sub: dict, path: list, instance: Any) -> bool:
        if canonical(instance) in {canonical(v) for v in sub["enum"]}:
            return False
        sub["enum"].append(instance)
        self.note(path, "extended", f"enum += {instance!r}")
        return True

    def _fix_const(self, sub: dict, path: list, instance: Any) -> bool:
        if "anyOf" in sub:
            sub.pop("const")
            self.note(path, "removed", "const")
        else:
            sub["anyOf"] = [{"const": sub.pop("const")}, {"const": instance}]
            self.note(path[:-1] + ["anyOf"], "added", f"const alternative {instance!r}")
        return True

    def _set(self, sub: dict, path: list, value: Any, keep) -> bool:
        keyword = path[-1]
        new = keep(sub[keyword], value)
        if new == sub[keyword]:
            return False
        sub[keyword] = new
        self.note(path, "relaxed", f"{keyword} -> {new}")
        return True

    def _fix_maxLength(self, sub, path, instance):
        return self._set(sub, path, len(instance), max)

    def _fix_minLength(self, sub, path, instance):
        return self._set(sub, path, len(instance), min)

    _fix_maxItems = _fix_maxProperties = _fix_maxLength
    _fix_minItems = _fix_minProperties = _fix_minLength

    def _fix_maximum(self, sub, path, instance):
        return self._set(sub, path, instance, max)

    def _fix_minimum(self, sub, path, instance):
        return self._set(sub, path, instance, min)

    def _fix_exclusiveMaximum(self, sub, path, instance):
        if isinstance(sub["exclusiveMaximum"], bool):
            return self._drop(sub, path)
        return self._set(sub, path, instance + 1, max)

    def _fix_exclusiveMinimum(self, sub, path, instance):
        if isinstance(sub["exclusiveMinimum"], bool):
            return self._drop(sub, path)
        return self._set(sub, path, instance - 1, min)

    def _fix_multipleOf(self, sub, path, instance):
        old = sub["multipleOf"]
        if isinstance(old, int) and isinstance(instance, int) and math.gcd(old, instance) > 1:
            return self._set(sub, path, instance, lambda a, b: math.gcd(a, b))
        return self._drop(sub, path)

    def _drop(self, sub, path, *_):
        sub.pop(path[-1])
        self.note(path, "removed", path[-1])
        return True

    _fix_pattern = _fix_format = _fix_uniqueItems = _fix_not = _drop
    _fix_additionalItems = _fix_contains = _fix_minContains = _fix_maxContains = _drop

    def _fix_items(self, sub, path, instance):
        # only `items: false` after prefixItems fails on its own
        return self._drop(sub, path) if sub["items"] is False else False

    def _fix_required(self, sub, path, instance):
        if not isinstance(instance, dict):
            return False
        missing = [name for name in sub["required"] if name not in instance]
        sub["required"] = [name for name in sub["required"] if name in instance]
        if not sub["required"]:
            sub.pop("required")
        self.note(path, "relaxed", f"no longer required: {', '.join(missing)}")
        return bool(missing)

    def _fix_dependencies(self, sub, path, instance):
        keyword = path[-1]
        changed = False
        for name, deps in list(sub[keyword].items()):
            if isinstance(deps, list) and name in instance and any(d not in instance for d in deps):
                del sub[keyword][name]
                self.note([*path, name], "removed", f"dependency of {name}")
                changed = True
        return changed

    _fix_dependentRequired = _fix_dependencies

    def _fix_additionalProperties(self, sub, path, instance):
        if sub[path[-1]] is not False or not isinstance(instance, dict):
            return False
        declared = sub.setdefault("properties", {})
        patterns = list(sub.get("patternProperties", {}))
        changed = False
        for name, value in instance.items():
            if name in declared or any(re.search(p, name) for p in patterns):
                continue
            declared[name] = infer_schema(value)
            self.note(path[:-1] + ["properties", name], "added", "optional property")
            changed = True
        return changed

    _fix_unevaluatedProperties = _fix_additionalProperties

    def _fix_anyOf(self, sub, path, instance):
        branches = sub[path[-1]]
        if all(isinstance(b, dict) and set(b) == {"const"} for b in branches):
            branches.append({"const": instance})
        else:
            branches.append(infer_schema(instance))
        self.note(path, "extended", f"{path[-1]} += a branch for {json_type(instance)}")
        return True

    def _fix_oneOf(self, sub, path, instance):
        # A value matching several branches, or a new branch that may overlap the others,
        # breaks "exactly one": the oneOf becomes an anyOf, which only relaxes
        # (COMBINED_TYPE_EXTENDED), and then gains a branch if no branch matched.
        if "anyOf" in sub:
            return False
        sub["anyOf"] = sub.pop("oneOf")
        self.note(path, "relaxed", "oneOf -> anyOf")
        root = validator_for(self.schema)  # branches' $refs resolve against the document
        if not any(root.evolve(schema=b).is_valid(instance) for b in sub["anyOf"]):
            self._fix_anyOf(sub, [*path[:-1], "anyOf"], instance)
        return True


def propose(current: Any, records: Iterable[Any] | Mapping[Any, Any]):
    """(proposed schema, edits, records still failing it)."""
    records = dict(records) if isinstance(records, Mapping) else list(records)
    documents = list(records.values()) if isinstance(records, dict) else records
    fixer = _Fixer(copy.deepcopy(current))
    for _ in range(MAX_ROUNDS):
        validator = validator_for(fixer.schema)
        progress = False
        failing = False
        for document in documents:
            # all errors first: the validator walks the schema the fixes change
            for error in list(validator.iter_errors(document)):
                failing = True
                progress = fixer.fix(error, document) or progress
        if not failing or not progress:
            break
    unresolved, _, _ = breaking_records(fixer.schema, records)
    return fixer.schema, fixer.edits, unresolved


def evolve(
    history: list[Any],
    records: Iterable[Any] | Mapping[Any, Any],
    mode: CompatibilityMode | str,
    *,
    open_content_aware: bool = False,
    existing_records: Iterable[Any] | Mapping[Any, Any] | None = None,
) -> Evolution:
    """Propose the version after `history[-1]` (history oldest..latest) that `records`
    validate against, and check it against `history` in `mode`. With the open-content-aware
    policy, `existing_records` (default: `records`) are the subject's stored records."""
    if not history:
        raise ValueError("evolution needs the subject's current schema")
    records = dict(records) if isinstance(records, Mapping) else list(records)
    schema, edits, unresolved = propose(history[-1], records)
    result = check(
        schema,
        history,
        mode,
        open_content_aware=open_content_aware,
        existing_records=records if existing_records is None else existing_records,
    )
    return Evolution(schema=schema, result=result, edits=edits, unresolved=unresolved)
