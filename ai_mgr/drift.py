"""Drift of the feature distributions: the Population Stability Index of recent data
against the champion's training data (the version's `reference`, per-feature deciles).

PSI = sum over bins of (actual - expected) * ln(actual / expected); below 0.1 is stable,
above 0.2 (`AI_DRIFT_PSI_THRESHOLD`) a shift worth retraining for. Shares are floored
at 1e-4 so an empty bin does not make it infinite."""

from __future__ import annotations

import logging

import numpy as np
from django.conf import settings

from ai_mgr import sources
from ai_mgr.data import training_matrix
from ai_mgr.exceptions import AIError
from ai_mgr.models import MLModel, ModelAlias

FLOOR = 1e-4
log = logging.getLogger("dim.ai")


def psi(reference: dict, values: np.ndarray) -> float:
    edges = np.asarray(reference["edges"], dtype=np.float64)
    expected = np.maximum(np.asarray(reference["shares"], dtype=np.float64), FLOOR)
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    actual = np.maximum(counts / max(counts.sum(), 1), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def feature_psi(version, data) -> dict[str, float]:
    matrix = training_matrix(data, target=None, min_rows=1, features=version.features)
    return {
        name: round(psi(version.reference[name], matrix.x[:, i]), 6)
        for i, name in enumerate(version.features)
        if name in version.reference
    }


def threshold() -> float:
    return float(getattr(settings, "AI_DRIFT_PSI_THRESHOLD", 0.2))


def drifted_models() -> list[tuple[MLModel, dict]]:
    """The current tenant's models with a data source whose champion drifted."""
    out = []
    for model in MLModel.objects.exclude(source=""):
        alias = (
            ModelAlias.objects.filter(model=model, name="champion")
            .select_related("version")
            .first()
        )
        if alias is None:
            out.append((model, {}))  # never trained: train it
            continue
        try:
            scores = feature_psi(alias.version, sources.fetch(model.source))
        except AIError as exc:  # bad recent data: no verdict for this model, the others go on
            log.warning("ai_drift_unchecked", extra={"model": model.name, "error": str(exc)})
            continue
        if scores and max(scores.values()) > threshold():
            out.append((model, scores))
    return out
