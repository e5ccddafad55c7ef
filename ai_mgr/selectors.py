"""Reads of the registry, in the current tenant (the scoped manager: another tenant's
model is exactly as missing as one that never existed)."""

from __future__ import annotations

from datetime import datetime

from ai_mgr.exceptions import UnknownAlias, UnknownModel, UnknownVersion
from ai_mgr.models import AliasEvent, MLModel, ModelAlias, ModelVersion

VERSION_LIST_FIELDS = (
    "id", "number", "algorithm", "params", "features", "data_from", "data_to", "data_rows",
    "data_fingerprint", "metrics", "code_version", "trained_by", "trained_at", "storage",
    "checksum", "size",
)  # fmt: skip


def access_model(name: str) -> MLModel:
    model = MLModel.objects.filter(name=str(name)[:100]).first()
    if model is None:
        raise UnknownModel(f"no model named {name!r}")
    return model


def models_of_tenant():
    return MLModel.objects.order_by("name")


def access_version(model: MLModel, number) -> ModelVersion:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise UnknownVersion(f"{model.name} has no version {number!r}") from None
    version = ModelVersion.objects.filter(model=model, number=number).defer("artifact").first()
    if version is None:
        raise UnknownVersion(f"{model.name} has no version {number}")
    return version


def versions_of(model: MLModel):
    return ModelVersion.objects.filter(model=model).only(*VERSION_LIST_FIELDS).order_by("-number")


def aliases_of(model: MLModel) -> dict[str, int]:
    rows = ModelAlias.objects.filter(model=model).values_list("name", "version__number")
    return dict(rows)


def alias_version_id(model: MLModel, alias: str) -> int:
    version_id = (
        ModelAlias.objects.filter(model=model, name=alias)
        .values_list("version_id", flat=True)
        .first()
    )
    if version_id is None:
        raise UnknownAlias(f"{model.name} has no alias {alias!r}")
    return version_id


def history(model: MLModel, alias: str | None = None):
    events = AliasEvent.objects.filter(model=model).select_related("version", "previous")
    return events.filter(alias=alias) if alias else events


def served_at(model: MLModel, when: datetime, alias: str = "champion") -> AliasEvent | None:
    """The alias's last move at or before `when`: the version that served then (None:
    the alias did not exist yet). Answered from the append-only alias history."""
    return (
        AliasEvent.objects.filter(model=model, alias=alias, at__lte=when)
        .select_related("version")
        .order_by("-at", "-id")
        .first()
    )
