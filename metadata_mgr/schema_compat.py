"""The registry's one door to the compatibility engine, `metadata_mgr.compat` (a pure
module: Confluent's JSON Schema rules, the open-content-aware mode, evolution
proposals).

    check(new_schema, previous_schemas (oldest..latest), mode, *, open_content_aware=False,
          existing_records=None) -> CompatibilityResult(compatible, reasons, relaxed, ...)
    evolve(history (oldest..latest), failing_records, mode, *, open_content_aware=False,
           existing_records=None) -> Evolution(schema, result, edits, unresolved)

where each reason has `change_type`, `pointer`, `direction` and `version_index` (into
the previous schemas). See docs/metadata-compatibility.md for the rules. The engine is
imported on first use; when it is missing (a deployment without it), every call raises
`CompatEngineMissing`, which the API answers with a 503 naming it (registering a
subject's first version, or any version under mode NONE, needs no engine). A schema the
engine cannot read is a 400 `invalid_schema`. Tests may wrap the engine with
`use_engine(...)` (to see what it was asked).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

from metadata_mgr.exceptions import MetadataError

CHECKER = "metadata_mgr.compat.checker"
EVOLVE = "metadata_mgr.compat.evolve"
MODEL = "metadata_mgr.compat.model"

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


def _engine_schema_error(exc: Exception) -> MetadataError:
    return MetadataError(400, "invalid_schema", f"The schema cannot be checked: {exc}")


def _calling(module_name: str, function: str, *args, **kwargs):
    function_ = getattr(_module(module_name), function)
    schema_error = getattr(_module(MODEL), "SchemaError", ())
    try:
        return function_(*args, **kwargs)
    except schema_error as exc:
        raise _engine_schema_error(exc) from None


def check(
    new_schema,
    previous_schemas: list,
    mode: str,
    *,
    open_content_aware: bool = False,
    existing_records=None,
):
    return _calling(
        CHECKER,
        "check",
        new_schema,
        previous_schemas,
        mode,
        open_content_aware=open_content_aware,
        existing_records=existing_records,
    )


def evolve(
    history: list,
    failing_records: list,
    mode: str,
    *,
    open_content_aware: bool = False,
    existing_records=None,
):
    return _calling(
        EVOLVE,
        "evolve",
        history,
        failing_records,
        mode,
        open_content_aware=open_content_aware,
        existing_records=existing_records,
    )


def reasons_of(reasons, versions: list[int] | None = None) -> list[dict]:
    """Reasons as JSON: [{change_type, pointer, direction, version}], `version` being
    the subject's version number the reason was found against (`versions`: the numbers
    of the previous schemas the engine was given, oldest first)."""
    out = []
    for reason in reasons or ():
        index = getattr(reason, "version_index", None)
        found = {
            "change_type": str(getattr(reason, "change_type", "")),
            "pointer": str(getattr(reason, "pointer", "")),
            "direction": str(getattr(reason, "direction", "") or ""),
        }
        if versions is not None and isinstance(index, int) and 0 <= index < len(versions):
            found["version"] = versions[index]
        out.append(found)
    return out


@contextmanager
def use_engine(checker=None, evolver=None):
    """Tests: answer with these modules (anything with `check` / `evolve`) instead."""
    saved = dict(_override)
    if checker is not None:
        _override[CHECKER] = checker
    if evolver is not None:
        _override[EVOLVE] = evolver
    try:
        yield
    finally:
        _override.clear()
        _override.update(saved)
