"""JSON Schema differ with Confluent's change types (see changes.py and
docs/metadata-compatibility.md).

    diff(original, update) -> [Difference("MAX_LENGTH_DECREASED", "#/properties/a/maxLength")]

`original` and `update` are parsed JSON schemas (dicts or booleans). Every difference
carries Confluent's change type and the JSON pointer, in the original schema, where it was
found; `is_compatible(difference)` says whether a reader of `update` still accepts what
`original` accepted there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# the rule modules register themselves with the engine
from . import diff_array, diff_combined, diff_object, diff_scalar  # noqa: F401
from .changes import ChangeType, Difference, strict_is_compatible
from .engine import escape, resolve, run
from .model import Loader, ObjectNode


def _reserved(
    update_root: Any, original_reserved: Iterable[str], update_reserved: Iterable[str]
) -> list[Difference]:
    """Reserved property names (Confluent keeps them in the subject's metadata): a name may
    not leave the reserved list, and the update may not declare a reserved name."""
    before, after = set(original_reserved), set(update_reserved)
    found = [
        Difference(ChangeType.RESERVED_PROPERTY_REMOVED, name) for name in sorted(before - after)
    ]
    if isinstance(update_root, ObjectNode):
        found += [
            Difference(
                ChangeType.RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY,
                f"#/properties/{escape(name)}",
            )
            for name in update_root.properties
            if name in after
        ]
    return found


def diff(
    original: Any,
    update: Any,
    *,
    original_reserved: Iterable[str] = (),
    update_reserved: Iterable[str] = (),
    is_compatible: Callable[[Difference], bool] = strict_is_compatible,
) -> list[Difference]:
    """Every difference from `original` to `update`. `is_compatible` is the policy the
    walk uses where it must decide between alternatives (union branches, coverage by a
    partially open model); the strict Confluent set unless a policy relaxes it.

    Raises model.SchemaError for a document that is not a schema we can read."""
    original_root = Loader(original).root
    update_root = Loader(update).root
    found = _reserved(resolve(update_root), original_reserved, update_reserved)
    return found + run(original_root, update_root, is_compatible)


def incompatible(
    differences: Iterable[Difference],
    is_compatible: Callable[[Difference], bool] = strict_is_compatible,
) -> list[Difference]:
    return [d for d in differences if not is_compatible(d)]
