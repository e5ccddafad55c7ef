"""Compatibility modes over a subject's versions, as Confluent's Schema Registry defines them.

    check(new_schema, previous_schemas, "BACKWARD") -> CompatibilityResult

- BACKWARD: a reader using the new schema reads data written with the previous one, so the
  diff previous -> new may hold only compatible changes.
- FORWARD: a reader using the previous schema reads data written with the new one: the
  diff new -> previous.
- FULL: both.
- *_TRANSITIVE: against every previous version (oldest..latest), not just the latest.
- NONE: anything goes.

The open-content-aware policy (opt-in per subject) goes further than Confluent where its
users hurt: adding an *optional* property to an open content model (Confluent's
PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, refused because old data might already hold that
name with another type) is accepted when the subject's stored records prove it harmless,
i.e. every one of them validates against the new schema. Otherwise the records that would
break are reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from .changes import Difference, open_content_aware_is_compatible, strict_is_compatible
from .diff import diff
from .model import SchemaError

MAX_REPORTED_RECORDS = 50


class CompatibilityMode(StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        return self.endswith("_TRANSITIVE")

    @property
    def directions(self) -> tuple[str, ...]:
        if self is CompatibilityMode.NONE:
            return ()
        base = self.removesuffix("_TRANSITIVE")
        return {"BACKWARD": ("backward",), "FORWARD": ("forward",)}.get(
            base, ("backward", "forward")
        )


@dataclass(frozen=True)
class Reason:
    """An incompatible change: its Confluent type, the JSON pointer in the schema the diff
    started from, the direction that found it, and which previous version (index into
    `previous_schemas`, oldest first) it was checked against."""

    change_type: str
    pointer: str
    direction: str
    version_index: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BreakingRecord:
    record: Any  # its id when records came as a mapping, else its position
    pointer: str  # where in the record it fails
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CompatibilityResult:
    compatible: bool
    mode: CompatibilityMode
    reasons: list[Reason] = field(default_factory=list)
    # changes Confluent refuses that the open-content-aware policy accepted (records proved
    # them harmless), or that it would have accepted had no record broken
    relaxed: list[Reason] = field(default_factory=list)
    breaking_records: list[BreakingRecord] = field(default_factory=list)
    breaking_records_total: int = 0
    records_checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "compatible": self.compatible,
            "mode": str(self.mode),
            "reasons": [r.as_dict() for r in self.reasons],
            "relaxed": [r.as_dict() for r in self.relaxed],
            "breaking_records": [b.as_dict() for b in self.breaking_records],
            "breaking_records_total": self.breaking_records_total,
            "records_checked": self.records_checked,
        }


def validator_for(schema: Any) -> jsonschema.protocols.Validator:
    """A jsonschema validator for `schema` (its $schema draft, draft 7 by default); a
    document that is no valid schema is a SchemaError."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise SchemaError(f"not a valid JSON Schema at {where}: {exc.message}") from exc
    return cls(schema)


def _pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def breaking_records(
    schema: Any, records: Iterable[Any] | Mapping[Any, Any]
) -> tuple[list[BreakingRecord], int, int]:
    """(first MAX_REPORTED_RECORDS records failing `schema`, how many fail, how many were
    checked)."""
    validator = validator_for(schema)
    pairs = records.items() if isinstance(records, Mapping) else enumerate(records)
    found: list[BreakingRecord] = []
    total = checked = 0
    for key, document in pairs:
        checked += 1
        error = best_match(validator.iter_errors(document))
        if error is None:
            continue
        total += 1
        if len(found) < MAX_REPORTED_RECORDS:
            found.append(BreakingRecord(key, _pointer(error.absolute_path), error.message))
    return found, total, checked


def _reason(d: Difference, direction: str, index: int) -> Reason:
    return Reason(str(d.change_type), d.pointer, direction, index)


def check(
    new_schema: Any,
    previous_schemas: list[Any],
    mode: CompatibilityMode | str,
    *,
    open_content_aware: bool = False,
    existing_records: Iterable[Any] | Mapping[Any, Any] | None = None,
) -> CompatibilityResult:
    """Whether `new_schema` may follow `previous_schemas` (oldest..latest) under `mode`.

    With `open_content_aware`, `existing_records` (the subject's stored documents; a
    mapping id -> document reports breaking records by id, any other iterable by position)
    is required. Raises SchemaError when a schema cannot be read; ValueError for an
    unknown mode."""
    mode = CompatibilityMode(mode)
    if open_content_aware and existing_records is None:
        raise ValueError("the open-content-aware policy needs the subject's existing records")
    validator_for(new_schema)  # refuse a new schema that is no valid schema, in every mode
    result = CompatibilityResult(compatible=True, mode=mode)
    if not mode.directions or not previous_schemas:
        return result
    indexes = range(len(previous_schemas)) if mode.transitive else [len(previous_schemas) - 1]
    for index in indexes:
        previous = previous_schemas[index]
        for direction in mode.directions:
            # Only the backward direction may be relaxed: the records stand for data old
            # writers produced, which the new schema must read.
            policy = (
                open_content_aware_is_compatible
                if open_content_aware and direction == "backward"
                else strict_is_compatible
            )
            if direction == "backward":
                found = diff(previous, new_schema, is_compatible=policy)
            else:
                found = diff(new_schema, previous, is_compatible=policy)
            for d in found:
                if not policy(d):
                    result.reasons.append(_reason(d, direction, index))
                elif not strict_is_compatible(d):
                    result.relaxed.append(_reason(d, direction, index))
    if result.relaxed:
        found_records, total, checked = breaking_records(new_schema, existing_records)
        result.breaking_records, result.breaking_records_total = found_records, total
        result.records_checked = checked
        if total:
            # Some stored record would break: the relaxed changes count against the schema.
            result.reasons.extend(result.relaxed)
    result.compatible = not result.reasons
    return result
