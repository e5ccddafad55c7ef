"""Writes of the performance manager: batch ingest, roll-up passes, retention purges.
Each runs for the tenant in context and owns its transaction."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from perf_mgr import policy, rollup, store
from perf_mgr.models import HOUR_US, MetricRollup, MetricSample, Resolution, RollupCursor
from perf_mgr.models import now_us as _now_us
from perf_mgr.validation import (
    MetricRejected,
    canonical_labels,
    check_name,
    check_timestamp,
    check_value,
)
from tenancy import db as tenant_db
from tenancy import quotas
from tenancy.context import require_tenant_id

MAX_BATCH = 10_000


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"index", "code", "reason"}


def _timestamp(raw) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise MetricRejected(
                "invalid_timestamp", "The timestamp must be ISO 8601 or seconds since the epoch."
            ) from None
        if parsed.tzinfo is None:
            raise MetricRejected("invalid_timestamp", "An ISO 8601 timestamp needs its offset.")
        return parsed.timestamp()
    return raw


def parse_sample(item, *, now: float, oldest: float) -> tuple:
    """One sample of a batch -> (name, labels, category, value, at_us)."""
    if not isinstance(item, dict):
        raise MetricRejected("invalid_sample", "A sample must be an object.")
    unknown = set(item) - {"name", "value", "labels", "tags", "timestamp", "category"}
    if unknown:
        raise MetricRejected("invalid_sample", f"Unknown fields: {', '.join(sorted(unknown))}.")
    name = check_name(item.get("name"))
    if "value" not in item:
        raise MetricRejected("not_numeric", "The value is missing.")
    value = check_value(item["value"])
    labels = canonical_labels(item.get("labels", item.get("tags")))
    category = item.get("category", "custom")
    if category not in ("custom", "business", "performance"):
        raise MetricRejected("invalid_sample", "category must be custom, business or performance.")
    ts = _timestamp(item.get("timestamp"))
    ts = now if ts is None else check_timestamp(ts, now=now, oldest=oldest)
    return name, labels, category, value, int(ts * 1_000_000)


def do_ingest_batch(items: list) -> IngestResult:
    """Validate a batch sample by sample and store the good ones, durably, before
    returning; the bad ones are reported by index with a reason (including those refused
    by the series limit)."""
    tenant_id = require_tenant_id("ingesting metrics")
    now = time.time()
    oldest = now - policy.retention(tenant_id).raw_days * 86400
    result = IngestResult()
    good, positions = [], []
    for index, item in enumerate(items):
        try:
            good.append(parse_sample(item, now=now, oldest=oldest))
            positions.append(index)
        except MetricRejected as exc:
            result.rejected.append({"index": index, "code": exc.code, "reason": exc.message})
    if good:  # the tier's daily rate, for the whole batch before any is stored
        quotas.enforce("metric_samples_per_day", adding=len(good), tenant_id=tenant_id)
    stored, refused = store.write(good)
    for position in refused:
        result.rejected.append(
            {
                "index": positions[position],
                "code": "series_limit",
                "reason": (
                    "This sample would start a new series and the tenant has reached its "
                    f"limit of {policy.series_limit(tenant_id)} series."
                ),
            }
        )
    result.rejected.sort(key=lambda r: r["index"])
    result.accepted = stored
    return result


def do_roll_up(max_passes: int = 20) -> dict:
    """Roll the tenant's new samples up, pass after pass, until none is left (or
    `max_passes`, so one tenant's backlog cannot hold a worker forever)."""
    total = {"samples": 0, "passes": 0}
    for _ in range(max_passes):
        done = rollup.roll_up()
        total["samples"] += done["samples"]
        total["passes"] += 1
        total["cursor"] = done["cursor"]
        if not done["more"]:
            break
    return total


def do_purge_expired_metrics(now_us: int | None = None) -> dict:
    """Delete what the tenant's tier no longer keeps: raw samples (only those already
    rolled up), then minute and hour roll-ups."""
    tenant_id = require_tenant_id("purging metrics")
    keep = policy.retention(tenant_id)
    now_us = _now_us() if now_us is None else now_us
    day = 24 * HOUR_US
    with tenant_db.atomic():
        cursor = RollupCursor.objects.first()
        rolled = cursor.last_sample_id if cursor is not None else 0
        raw, _ = MetricSample.objects.filter(
            at_us__lt=now_us - int(keep.raw_days * day), id__lte=rolled
        ).delete()
        minutes, _ = MetricRollup.objects.filter(
            resolution=Resolution.MINUTE, start_us__lt=now_us - int(keep.minute_days * day)
        ).delete()
        hours, _ = MetricRollup.objects.filter(
            resolution=Resolution.HOUR, start_us__lt=now_us - int(keep.hour_days * day)
        ).delete()
    return {"samples": raw, "minute_rollups": minutes, "hour_rollups": hours}
