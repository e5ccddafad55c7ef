"""A STAND-IN for the compatibility engine (`metadata_mgr.compat`, written elsewhere),
so the registry's wiring can be tested before the engine lands. Its rule is trivial and
NOT Confluent's: a new schema is incompatible when it drops a property of the latest
schema's `properties` or changes that property's `type`; mode NONE accepts anything.
Tests using it check the registry (what is checked, what is written, what is
answered), never the compatibility rules themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

calls: list[dict] = []


@dataclass(frozen=True)
class Reason:
    change_type: str
    pointer: str
    direction: str = "backward"


@dataclass(frozen=True)
class CompatibilityResult:
    compatible: bool
    reasons: list = field(default_factory=list)


def check(new_schema, previous_schemas, mode, *, open_content_aware=False, existing_records=None):
    calls.append(
        {
            "new": new_schema,
            "previous": list(previous_schemas),
            "mode": mode,
            "open_content_aware": open_content_aware,
            "existing_records": existing_records,
        }
    )
    if mode == "NONE" or not previous_schemas:
        return CompatibilityResult(True)
    latest = previous_schemas[-1].get("properties", {})
    new = new_schema.get("properties", {}) if isinstance(new_schema, dict) else {}
    reasons = []
    for name, spec in latest.items():
        if name not in new:
            reasons.append(Reason("PROPERTY_REMOVED", f"#/properties/{name}"))
        elif spec.get("type") != new[name].get("type"):
            reasons.append(Reason("TYPE_CHANGED", f"#/properties/{name}"))
    return CompatibilityResult(not reasons, reasons)


def propose(current_schema, failing_records, mode, previous_schemas):
    """Adds every top-level key of the failing records as an optional property."""
    proposal = {**current_schema, "properties": dict(current_schema.get("properties", {}))}
    for record in failing_records:
        for key, value in record.items():
            proposal["properties"].setdefault(key, {})
    proposal.pop("additionalProperties", None)
    return proposal, check(proposal, previous_schemas, mode)
