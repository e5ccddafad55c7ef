"""The registry's one door to the compatibility engine, `metadata_mgr.compat` (a pure
module: Confluent's JSON Schema rules, the open-content-aware mode, evolution
proposals).

    check(new_schema, previous_schemas (oldest..latest), mode, *, open_content_aware=False,
          existing_records=None) -> CompatibilityResult(compatible, reasons)
    propose(current_schema, failing_records, mode, previous_schemas)
        -> (proposal_schema, CompatibilityResult)

where each reason has `change_type`, `pointer` and `direction`. The engine is imported
on first use; when it is not installed, every call raises `CompatEngineMissing`, which
the API answers with a 503 naming it (registering a subject's first version, or any
version under mode NONE, needs no engine). Tests substitute an engine with
`use_engine(...)`.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

from metadata_mgr.exceptions import MetadataError

CHECKER = "metadata_mgr.compat.checker"
EVOLVE = "metadata_mgr.compat.evolve"

_override: dict[str, object] = {}


class CompatEngineMissing(MetadataError):
    def __init__(self, module: str):
        super().__init__(
            503,
            "compat_engine_missing",
            f"The schema compatibility engine ({module}) is not installed in this "
            "deployment: schema versions after the first cannot be checked.",
        )


def _module(name: str):
    if name in _override:
        return _override[name]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only the engine itself missing; an import error inside it is a real bug.
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise CompatEngineMissing(name) from None
        raise


def check(
    new_schema,
    previous_schemas: list,
    mode: str,
    *,
    open_content_aware: bool = False,
    existing_records=None,
):
    return _module(CHECKER).check(
        new_schema,
        previous_schemas,
        mode,
        open_content_aware=open_content_aware,
        existing_records=existing_records,
    )


def propose(current_schema, failing_records: list, mode: str, previous_schemas: list):
    return _module(EVOLVE).propose(current_schema, failing_records, mode, previous_schemas)


def reasons_of(result) -> list[dict]:
    """The result's reasons as JSON: [{change_type, pointer, direction}]."""
    return [
        {
            "change_type": str(getattr(r, "change_type", "")),
            "pointer": str(getattr(r, "pointer", "")),
            "direction": str(getattr(r, "direction", "") or ""),
        }
        for r in getattr(result, "reasons", ()) or ()
    ]


@contextmanager
def use_engine(checker=None, evolve=None):
    """Tests: answer with these modules (anything with `check` / `propose`) instead."""
    saved = dict(_override)
    if checker is not None:
        _override[CHECKER] = checker
    if evolve is not None:
        _override[EVOLVE] = evolve
    try:
        yield
    finally:
        _override.clear()
        _override.update(saved)
