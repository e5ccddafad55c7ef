"""The per-tenant multivariate detector (issue 15, item 4): an IsolationForest over the
tenant's own metrics, trained and served through ai_mgr's registry.

Training data is the metrics store through the seam `feature_frame`
(perf_mgr/metric_frames.py, re-exported by perf_mgr.anomalies): one row per hour of the
last ANOMALY_TRAIN_DAYS, one column per watched metric. ai_mgr never imports perf_mgr:
the rows reach it through its data-source registry (`ai_mgr.sources`, registered in
PerfMgrConfig.ready()), so the model's `source` lets ai_mgr's drift check and
AUTO_TRAINING_ENABLED retraining fetch fresh rows on their own.
Metrics seen in fewer than half of the hours are left out (a model cannot ask for a
value most hours lack); the hours missing any remaining metric are dropped.

Scoring (`evaluate`) takes the champion from the registry's cached loader and scores
the last hour's average of each of its features, the same basis as the training rows.
The score is Liu et al.'s anomaly score in [0, 1] (about 0.5 ordinary, near 1 isolated)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ai_mgr import inference, loader, training
from ai_mgr.actions import ensure_model
from ai_mgr.exceptions import AIError, UnknownAlias, UnknownModel
from ai_mgr.models import MLModel, ModelVersion
from perf_mgr.metric_frames import feature_frame, recent
from tenancy.context import get_current_tenant, require_tenant_id

SOURCE = "perf_mgr.metrics"
MODEL = "perf_metrics_detector"
KIND = "anomaly_detector"
METRIC = "multivariate"  # the `metric` of its anomalies and of its anomaly_score samples
METHOD = "isolation_forest"
MIN_COVERAGE = 0.5


def _setting(name: str, default):
    return getattr(settings, name, default)


def training_rows() -> list[dict]:
    """The current tenant's hourly metric rows (ai_mgr's data source `perf_mgr.metrics`)."""
    require_tenant_id("reading training metrics")
    days = float(_setting("ANOMALY_TRAIN_DAYS", 30))
    frame = feature_frame(get_current_tenant(), dt.timedelta(days=days))
    values = frame["values"]
    if not len(frame["times"]):
        return []
    keep = [j for j in range(values.shape[1]) if np.mean(~np.isnan(values[:, j])) >= MIN_COVERAGE]
    names = [frame["metrics"][j] for j in keep]
    sub = values[:, keep]
    complete = ~np.isnan(sub).any(axis=1) if keep else np.zeros(len(sub), dtype=bool)
    stamps = [dt.datetime.fromtimestamp(t, tz=dt.UTC).isoformat() for t in frame["times"]]
    return [
        {"timestamp": stamps[i], **dict(zip(names, sub[i].tolist(), strict=True))}
        for i in np.nonzero(complete)[0]
    ]


def do_train(*, actor: str = "", promote: str | None = "champion", send: bool = True):
    """Queue the training job of the tenant's detector (a jobs_mgr job, `ai.train`)."""
    with_model()
    return training.train_model(
        model_type=KIND, model_name=MODEL, source=SOURCE, promote=promote, actor=actor, send=send
    )


def with_model() -> MLModel:
    """The registry's model row, with its data source (so retraining finds its data)."""
    return ensure_model(MODEL, KIND, description="Multivariate metrics detector", source=SOURCE)


def ensure_trained() -> bool:
    """With AUTO_TRAINING_ENABLED, queue a first training once the tenant has enough
    complete hours; afterwards ai_mgr's drift check retrains it. True when queued."""
    if not _setting("AUTO_TRAINING_ENABLED", False):
        return False
    if MLModel.objects.filter(name=MODEL).exists():
        return False
    rows = training_rows()
    if len(rows) < int(_setting("ANOMALY_TRAIN_MIN_HOURS", 48)):
        return False
    do_train(actor="anomaly detection")
    return True


@dataclass(frozen=True)
class Verdict:
    score: float
    version: int
    observed: dict[str, float]
    holdout_mean: float | None
    holdout_p99: float | None


def evaluate(now_us: int) -> Verdict | None:
    """The champion's score of the last hour, or None without a champion or with a
    feature that has no sample in that hour."""
    try:
        loaded = loader.load(MODEL)
    except (UnknownModel, UnknownAlias):
        return None
    if loaded.shared:  # a platform model of that name is not this tenant's detector
        return None
    observed = recent(loaded.features, 3600.0, now_us)
    if set(loaded.features) - set(observed):
        return None
    row = {name: observed[name] for name in loaded.features}
    try:
        result = inference.predict(MODEL, row)
    except AIError:
        return None
    metrics = (
        ModelVersion.objects.filter(pk=loaded.version_id).values_list("metrics", flat=True).first()
        or {}
    )
    return Verdict(
        score=float(result["anomaly_score"]),
        version=int(result["version"]),
        observed=row,
        holdout_mean=metrics.get("holdout_score_mean"),
        holdout_p99=metrics.get("holdout_score_p99"),
    )


def threshold() -> float:
    """The score from which an hour is stored as an anomaly. An IsolationForest scores a
    row beyond the training range about as it scores the most extreme training rows
    (the row follows them down every tree): about 0.7 with a few hundred hourly rows,
    against about 0.4 for an ordinary hour, so 0.65 by default. Per-metric extremes
    are the robust detector's; this one adds the unusual *combinations*."""
    return float(_setting("ANOMALY_MULTIVARIATE_THRESHOLD", 0.65))
