"""The tenant's TF-IDF search encoder, versioned by the AI model registry (ai_mgr).

The encoder is fitted on the tenant's own texts, so it is the tenant's data: it lives in
the tenant's registry (model `metadata_encoder`, kind `search_encoder`), its artifact
signed with the tenant's key like every other model, and another tenant cannot name it.

- Writes register: the indexer (when the tenant has no encoder yet) and a refit each
  create a version, with its lineage (how many texts, their fingerprint), and point the
  `champion` alias at it (an audited promotion). Every process then encodes with the
  same encoder: vectors and queries always match.
- Reads only load: the champion through `ai_mgr.loader` (cached in process, the alias
  re-checked every `AI_MODEL_RECHECK_SECONDS`), rebuilt from its arrays once per
  version. With no champion yet, the caller fits one in memory and registers nothing.
- Erasure deletes the model, its versions and their artifact files (`drop`)."""

from __future__ import annotations

import logging
import math
import threading
import time

from django.db import transaction
from django.utils import timezone

from ai_mgr import actions, loader
from ai_mgr.exceptions import TamperedArtifact, UnknownAlias, UnknownModel
from ai_mgr.kinds import EXTERNAL
from ai_mgr.models import MLModel
from metadata_mgr.search.encoders import TfidfSvdEncoder
from tenancy import resettable

MODEL = "metadata_encoder"
KIND = "search_encoder"
log = logging.getLogger(__name__)

_lock = threading.Lock()
_built: dict[int, tuple[int, TfidfSvdEncoder]] = {}  # tenant -> (version id, encoder)
_missing: dict[int, float] = {}  # tenant -> when no champion was found (monotonic)


@resettable.register
def forget(tenant_id: int | None = None) -> None:
    """Drop this process's rebuilt encoders (the registry keeps the versions)."""
    with _lock:
        if tenant_id is None:
            _built.clear()
            _missing.clear()
        else:
            _built.pop(tenant_id, None)
            _missing.pop(tenant_id, None)


def champion(tenant_id: int, *, fresh: bool = False) -> TfidfSvdEncoder | None:
    """The tenant's registered encoder, None when it has none. Without `fresh`, a
    tenant seen without one is not asked again before the loader's recheck delay (a
    search must not pay five lookups for a missing model)."""
    now = time.monotonic()
    if not fresh and now - _missing.get(tenant_id, -math.inf) < loader.recheck_seconds():
        return None
    try:
        loaded = loader.load(MODEL)
    except (UnknownModel, UnknownAlias):
        with _lock:
            _missing[tenant_id] = now
        return None
    if loaded.shared or loaded.kind != KIND:
        # Only the tenant's own encoder: a platform model of that name is not its words.
        return None
    with _lock:
        cached = _built.get(tenant_id)
    if cached is not None and cached[0] == loaded.version_id:
        return cached[1]
    encoder = TfidfSvdEncoder.from_arrays(loaded.scorer.arrays_)
    with _lock:
        _built[tenant_id] = (loaded.version_id, encoder)
        _missing.pop(tenant_id, None)
    return encoder


def champion_moved_at(tenant_id: int):
    """When the champion alias last moved (None: no champion): a refit or a promotion
    or rollback through the registry, even back to an encoder of the same name."""
    from ai_mgr.models import ModelAlias

    return (
        ModelAlias.objects.filter(model__name=MODEL, name=actions.CHAMPION)
        .values_list("updated_at", flat=True)
        .first()
    )


def for_reading(tenant_id: int) -> TfidfSvdEncoder | None:
    """The champion for a read (a search): a tampered artifact is logged and treated as
    missing, so search goes on (the keyword half at least) until an operator refits."""
    try:
        return champion(tenant_id)
    except TamperedArtifact as exc:
        log.error("metadata search: the tenant's encoder is refused (%s)", exc)
        return None


def for_writing(tenant_id: int, corpus_loader) -> TfidfSvdEncoder:
    """The champion for a write (indexing, re-encoding); with none, one is fitted on
    `corpus_loader()` and registered as the champion. The model row is locked first, so
    two indexers starting at once register one encoder, not two."""
    found = champion(tenant_id, fresh=True)
    if found is not None:
        return found
    with transaction.atomic():
        model = actions.ensure_model(MODEL, KIND, description="metadata search encoder")
        MLModel.objects.select_for_update().filter(pk=model.pk).first()
        found = champion(tenant_id, fresh=True)
        if found is not None:
            return found
        return register(tenant_id, TfidfSvdEncoder(list(corpus_loader())), reason="first fit")


def register(
    tenant_id: int, encoder: TfidfSvdEncoder, *, actor: str = "", reason: str = ""
) -> TfidfSvdEncoder:
    """A new version of the tenant's encoder, made its champion (audited)."""
    actor = actor or "metadata search indexer"
    lineage = {
        "params": {
            "encoder": encoder.name, "dim": encoder.dim, "svd": encoder.components is not None,
            "ngram_range": list(encoder.NGRAMS), "sublinear_tf": True,
        },
        "data_to": timezone.now(),
        "data_rows": encoder.corpus_size,
        "data_fingerprint": encoder.fingerprint,
        "metrics": {"vocabulary": len(encoder.vocabulary), "dim": encoder.dim},
        "trained_by": actor[:150],
    }  # fmt: skip
    with transaction.atomic():
        model = actions.ensure_model(MODEL, KIND, description="metadata search encoder")
        version = actions.create_version(
            model, encoder.arrays(), algorithm=EXTERNAL, lineage=lineage
        )
        actions.promote(MODEL, version.number, actor=actor, reason=reason or "refit")
    with _lock:
        _built[tenant_id] = (version.pk, encoder)
        _missing.pop(tenant_id, None)
    return encoder


def drop(tenant_id: int) -> int:
    """Erasure: the tenant's encoder versions and their artifacts; the number removed."""
    forget(tenant_id)
    return actions.delete_model(MODEL, actor="system:erasure", reason="search index dropped")
