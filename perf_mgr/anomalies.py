"""Anomaly detection on a tenant's metrics (issue 15, item 4), in the tenant in context.

Every ANOMALY_DETECTION_INTERVAL (beat, per tenant) each watched metric's average over
the last ANOMALY_OBSERVE_S is scored against the same hour of the week in the previous
ANOMALY_HISTORY_WEEKS weeks (ai_mgr.robust: median and MAD). History is read from the
hourly roll-ups (cheap: 168 rows a week per series); the observation averages a shorter
span, so the band is widened by sqrt(hour / span) (the spread of a mean grows as its
span shrinks).

Each run writes one `anomaly_score` sample per metric (labels `metric=<name>`), which
the alert rules read through the source registered in PerfMgrConfig.ready() (so the
seed's `anomaly_score > 0.9` fires); a score at or above ANOMALY_DETECTION_THRESHOLD is
also stored as a MetricAnomaly with its evidence and drivers (the other metrics that were
furthest from their own bands at the same moment).

`feature_frame(tenant, window)` is the seam for the multivariate per-tenant detector
(an IsolationForest trained through ai_mgr's registry): the same hourly averages, one
column per metric. perf_mgr/multivariate.py trains it from there and scores with it here.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ai_mgr import robust
from perf_mgr import multivariate, query
from perf_mgr.actions import do_ingest_batch
from perf_mgr.metric_frames import SCORE_METRIC, hourly, recent, watched_metrics
from perf_mgr.metric_frames import feature_frame as feature_frame  # the seam, re-exported
from perf_mgr.models import HOUR_US, MetricAnomaly
from tenancy.context import require_tenant_id

METHOD = "robust"
WEEK_US = 7 * 24 * HOUR_US


def _setting(name: str, default):
    return getattr(settings, name, default)


def score_all(now_us: int | None = None) -> dict[str, robust.Point]:
    """{metric: its robust verdict now}: the metrics with an observation and a history."""
    now_us = now_us if now_us is not None else int(timezone.now().timestamp() * 1e6)
    names = watched_metrics()
    weeks = _setting("ANOMALY_HISTORY_WEEKS", 4)
    observe_s = float(_setting("ANOMALY_OBSERVE_S", 900))
    history = hourly(names, now_us - weeks * WEEK_US, now_us, now_us=now_us)
    observed = recent(names, observe_s, now_us)
    scale = math.sqrt(3600.0 / observe_s)
    points = {}
    for name, value in observed.items():
        if name not in history:
            continue
        t, v = history[name]
        point = robust.evaluate(t, v, now_us / 1e6, value, weeks=weeks, sigma_scale=scale)
        if point is not None:
            points[name] = point
    return points


def drivers(points: dict[str, robust.Point], metric: str, top: int = 3) -> list[dict]:
    """The other metrics furthest outside their own bands at the same moment (|z| >= 2)."""
    others = [(name, p) for name, p in points.items() if name != metric and abs(p.z) >= 2]
    others.sort(key=lambda item: abs(item[1].z), reverse=True)
    return [
        {"metric": name, "observed": p.observed, "expected": p.median, "z": round(p.z, 3)}
        for name, p in others[:top]
    ]


def do_detect_anomalies(now: dt.datetime | None = None) -> dict:
    """Score the tenant's metrics now; write the scores and store the anomalies."""
    require_tenant_id("detecting anomalies")
    now = now or timezone.now()
    now_us = int(now.timestamp() * 1e6)
    points = score_all(now_us)
    threshold = float(_setting("ANOMALY_DETECTION_THRESHOLD", 0.95))
    samples = [
        {
            "name": SCORE_METRIC,
            "labels": {"metric": name},
            "value": point.score,
            "timestamp": now_us / 1e6,
            "category": "performance",
        }
        for name, point in points.items()
    ]
    verdict = multivariate.evaluate(now_us)
    if verdict is not None:
        samples.append(
            {
                "name": SCORE_METRIC,
                "labels": {"metric": multivariate.METRIC},
                "value": verdict.score,
                "timestamp": now_us / 1e6,
                "category": "performance",
            }
        )
    if samples:
        do_ingest_batch(samples)
    observed_at = now.replace(second=0, microsecond=0)
    stored = 0
    if verdict is not None and verdict.score >= multivariate.threshold():
        stored += _store_multivariate(verdict, points, observed_at)
    elif verdict is None:
        multivariate.ensure_trained()
    for name, point in points.items():
        if point.score < threshold:
            continue
        try:
            with transaction.atomic():
                MetricAnomaly.objects.create(
                    metric=name,
                    method=METHOD,
                    observed_at=observed_at,
                    observed=point.observed,
                    expected=point.median,
                    lower=point.lower,
                    upper=point.upper,
                    score=point.score,
                    drivers=drivers(points, name),
                    evidence={
                        "z": round(point.z, 4),
                        "robust_sigma": point.sigma,
                        "seasonal": point.seasonal,
                        "basis": "hour of week" if point.seasonal else "whole window",
                        "history_weeks": _setting("ANOMALY_HISTORY_WEEKS", 4),
                        "observed_over_s": _setting("ANOMALY_OBSERVE_S", 900),
                        "threshold": threshold,
                    },
                )
            stored += 1
        except IntegrityError:  # this minute's anomaly is stored already (a rerun)
            pass
    return {"scored": len(points) + (verdict is not None), "anomalies": stored}


def _store_multivariate(verdict, points, observed_at) -> int:
    """The multivariate detector's anomaly: the band is [0, threshold] of its score; the
    drivers are the metrics furthest outside their own robust bands."""
    threshold = multivariate.threshold()
    try:
        with transaction.atomic():
            MetricAnomaly.objects.create(
                metric=multivariate.METRIC,
                method=multivariate.METHOD,
                observed_at=observed_at,
                observed=verdict.score,
                expected=verdict.holdout_mean if verdict.holdout_mean is not None else 0.5,
                lower=0.0,
                upper=threshold,
                score=verdict.score,
                drivers=drivers(points, multivariate.METRIC),
                evidence={
                    "model": multivariate.MODEL,
                    "version": verdict.version,
                    "features": verdict.observed,
                    "holdout_score_p99": verdict.holdout_p99,
                    "basis": "last hour's averages",
                    "threshold": threshold,
                },
            )
        return 1
    except IntegrityError:  # this minute's anomaly is stored already (a rerun)
        return 0


def score_source(node) -> dict:
    """The alert rules' `anomaly_score` (perf_mgr.alerting.rules.register_source): the
    detector's latest scores. A bare `anomaly_score` (last_avg) reads the highest score
    of the last two detection runs, so a rule never falls between runs."""
    interval = float(_setting("ANOMALY_DETECTION_INTERVAL", 300.0))
    function = "max" if node.function == "last_avg" else node.function
    return query.evaluate(
        SCORE_METRIC,
        function,
        max(node.window_s, 2 * interval),
        labels=dict(node.labels) or None,
        by=list(node.by) or None,
    )


def band(metric: str, since_us: int, until_us: int) -> list[dict]:
    """The robust band of `metric` over [since, until) hour by hour (the dashboard's),
    each hour scored against the weeks before it."""
    weeks = _setting("ANOMALY_HISTORY_WEEKS", 4)
    history = hourly([metric], since_us - weeks * WEEK_US, until_us).get(metric)
    if history is None:
        return []
    t, v = history
    out = []
    for i in np.nonzero(t >= since_us / 1e6)[0]:
        point = robust.evaluate(t[:i], v[:i], float(t[i]), float(v[i]), weeks=weeks)
        if point is not None:
            out.append(point.as_dict())
    return out
