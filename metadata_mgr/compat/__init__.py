"""JSON Schema compatibility for the metadata manager's schema registry (issue 13, item 3).

Pure functions over parsed JSON schemas, no models: `diff` lists the changes between two
schemas with Confluent's change types and JSON pointers, `check` applies a subject's
compatibility mode (and the opt-in open-content-aware policy) over its versions, `evolve`
proposes the next version from records that no longer fit. See
docs/metadata-compatibility.md.
"""

from .changes import COMPATIBLE_CHANGES, ChangeType, Difference
from .checker import (
    BreakingRecord,
    CompatibilityMode,
    CompatibilityResult,
    Reason,
    breaking_records,
    check,
    validator_for,
)
from .diff import diff, incompatible
from .evolve import Edit, Evolution, evolve, infer_schema, propose
from .model import SchemaError

__all__ = [
    "COMPATIBLE_CHANGES",
    "BreakingRecord",
    "ChangeType",
    "CompatibilityMode",
    "CompatibilityResult",
    "Difference",
    "Edit",
    "Evolution",
    "Reason",
    "SchemaError",
    "breaking_records",
    "check",
    "diff",
    "evolve",
    "incompatible",
    "infer_schema",
    "propose",
    "validator_for",
]
