"""Lazy loading of a model's aliased version, with an in-process cache.

The first `load()` of (tenant, model, alias) reads the version, verifies its artifact
(checksum and the owner's signature, ai_mgr.artifacts) and builds its scorer; later
calls reuse it. A promotion or rollback forgets the entry in this process when it
commits (ai_mgr.actions); other processes notice the alias moved at their next check,
at most `AI_MODEL_RECHECK_SECONDS` later (one indexed read of the alias row). A tampered
artifact raises `TamperedArtifact` and is never cached: a champion already loaded
keeps serving, since moving the alias is what replaces it.

Keys carry the tenant's id: one tenant's entry is never another's. A tenant without a
model of that name falls back to the platform's shared model of that name."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from ai_mgr import artifacts, storage
from ai_mgr.algorithms import scorer
from ai_mgr.exceptions import UnknownAlias, UnknownModel
from ai_mgr.models import ModelAlias, ModelVersion, SharedAlias, SharedModelVersion
from tenancy import resettable
from tenancy.context import require_tenant_id


@dataclass
class Loaded:
    model: str
    alias: str
    version_id: int
    number: int
    algorithm: str
    kind: str
    features: list
    scorer: object
    shared: bool
    checked_at: float


_cache: dict[tuple[int, str, str], Loaded] = {}
_lock = threading.Lock()
resettable.register(_cache.clear, name="ai_mgr.loader._cache")


def recheck_seconds() -> float:
    return float(getattr(settings, "AI_MODEL_RECHECK_SECONDS", 1.0))


def forget(tenant_id: int, model: str | None = None) -> None:
    with _lock:
        for key in [k for k in _cache if k[0] == tenant_id and (model is None or k[1] == model)]:
            _cache.pop(key, None)


def forget_all() -> None:
    with _lock:
        _cache.clear()


def _alias_row(name: str, alias: str):
    """(version id, shared) that `alias` of model `name` points at now."""
    row = (
        ModelAlias.objects.filter(model__name=name, name=alias)
        .values_list("version_id", flat=True)
        .first()
    )
    if row is not None:
        return row, False
    if not ModelAlias.objects.filter(model__name=name).exists():
        shared = (
            SharedAlias.objects.filter(model__name=name, name=alias)
            .values_list("version_id", flat=True)
            .first()
        )
        if shared is not None:
            return shared, True
        from ai_mgr.models import MLModel, SharedModel

        if (
            not MLModel.objects.filter(name=name).exists()
            and not SharedModel.objects.filter(name=name).exists()
        ):
            raise UnknownModel(f"no model named {name!r}")
    raise UnknownAlias(f"model {name!r} has no alias {alias!r}")


def _build(tenant_id: int, name: str, alias: str, version_id: int, shared: bool) -> Loaded:
    table = SharedModelVersion if shared else ModelVersion
    version = table.objects.select_related("model").get(pk=version_id)
    data = storage.read(version)
    owner = artifacts.PLATFORM if shared else tenant_id
    artifacts.verify(
        data, digest=version.checksum, signature=version.signature, owner_id=owner,
        model=version.model.name, number=version.number,
    )  # fmt: skip
    return Loaded(
        model=name,
        alias=alias,
        version_id=version.pk,
        number=version.number,
        algorithm=version.algorithm,
        kind=version.model.kind,
        features=list(version.features),
        scorer=scorer(version.algorithm, artifacts.unpack(data)),
        shared=shared,
        checked_at=time.monotonic(),
    )


def load(name: str, alias: str = "champion") -> Loaded:
    tenant_id = require_tenant_id("loading a model")
    key = (tenant_id, name, alias)
    entry = _cache.get(key)
    now = time.monotonic()
    if entry is not None and now - entry.checked_at < recheck_seconds():
        return entry
    version_id, shared = _alias_row(name, alias)
    if entry is not None and entry.version_id == version_id and entry.shared == shared:
        entry.checked_at = now
        return entry
    fresh = _build(tenant_id, name, alias, version_id, shared)
    with _lock:
        _cache[key] = fresh
    return fresh
