"""The model registry's tables: tenant-scoped models, versions, aliases and the alias
history (registry.py), and their platform-wide twins for shared models (shared.py)."""

from ai_mgr.models.registry import AliasEvent, MLModel, ModelAlias, ModelVersion
from ai_mgr.models.shared import SharedAlias, SharedModel, SharedModelVersion

__all__ = [
    "AliasEvent",
    "MLModel",
    "ModelAlias",
    "ModelVersion",
    "SharedAlias",
    "SharedModel",
    "SharedModelVersion",
]
