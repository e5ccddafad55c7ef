"""Roll-ups: every sample of a tenant lands, once, in a one-minute and a one-hour
bucket of its series (count, sum, min, max and a quantile sketch, perf_mgr/sketch.py).

A pass reads the samples above the tenant's cursor (`RollupCursor.last_sample_id`), at
most `CHUNK` of them, aggregates them in the database by series, minute and sketch
bucket, adds the result into the stored buckets (a late sample joins the bucket of its
own minute, however old), and moves the cursor, all in one transaction that holds the
cursor's row lock: two passes of one tenant never count a sample twice. Samples commit
in id order per tenant (perf_mgr/store.py), so no sample below the cursor can appear
later.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import Case, Count, F, FloatField, IntegerField, Max, Min, Q, Sum, Value, When
from django.db.models.functions import Abs, Cast, Ceil, Ln, Mod
from django.utils import timezone

from perf_mgr import sketch
from perf_mgr.models import HOUR_US, MINUTE_US, MetricRollup, MetricSample, Resolution, RollupCursor
from tenancy import db as tenant_db
from tenancy.context import require_tenant_id

CHUNK = 500_000


def _bucket_code():
    """sketch.code() in SQL (LN and CEILING are Django's own functions on SQLite)."""
    k = Cast(
        Ceil(Ln(Abs(F("value"))) / Value(sketch._LOG_GAMMA, output_field=FloatField())),
        IntegerField(),
    )
    offset = Value(sketch.OFFSET, output_field=IntegerField())
    return Case(
        When(
            Q(value__gt=-sketch.ZERO_BELOW, value__lt=sketch.ZERO_BELOW),
            then=Value(0, output_field=IntegerField()),
        ),
        When(value__gt=0, then=offset + k),
        default=-offset - k,
        output_field=IntegerField(),
    )


def _locked_cursor() -> RollupCursor:
    cursor = RollupCursor.objects.select_for_update().first()
    if cursor is not None:
        return cursor
    try:
        with tenant_db.atomic():
            RollupCursor.objects.create()
    except IntegrityError:  # another pass created it meanwhile
        pass
    return RollupCursor.objects.select_for_update().get()


def _aggregate(low: int, high: int):
    return (
        MetricSample.objects.filter(id__gt=low, id__lte=high)
        .annotate(minute=F("at_us") - Mod(F("at_us"), Value(MINUTE_US)))
        .annotate(bucket=_bucket_code())
        .values("series_id", "minute", "bucket")
        .annotate(n=Count("id"), total=Sum("value"), low=Min("value"), high=Max("value"))
        .order_by()
    )


class _Acc:
    __slots__ = ("count", "sum", "min", "max", "sketch")

    def __init__(self):
        self.count, self.sum, self.min, self.max, self.sketch = 0, 0.0, None, None, {}

    def add(self, count, total, low, high, sketch_part: dict):
        self.count += count
        self.sum += total
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)
        sketch.add(self.sketch, sketch_part)


def _merge_into(resolution: int, accs: dict) -> int:
    """Add `accs` {(series_id, start_us): _Acc} into the stored buckets."""
    if not accs:
        return 0
    stored = MetricRollup.objects.filter(
        resolution=resolution,
        series_id__in={k[0] for k in accs},
        start_us__in={k[1] for k in accs},
    )
    for row in stored:
        acc = accs.get((row.series_id, row.start_us))
        if acc is not None:
            acc.add(row.count, row.sum, row.min, row.max, sketch.unpack(row.sketch))
    rows = [
        MetricRollup(
            series_id=series_id,
            resolution=resolution,
            start_us=start,
            count=acc.count,
            sum=acc.sum,
            min=acc.min,
            max=acc.max,
            sketch=sketch.pack(acc.sketch),
        )
        for (series_id, start), acc in accs.items()
    ]
    for start in range(0, len(rows), 2000):
        MetricRollup.objects.bulk_create(
            rows[start : start + 2000],
            update_conflicts=True,
            unique_fields=["tenant", "resolution", "series_id", "start_us"],
            update_fields=["count", "sum", "min", "max", "sketch"],
        )
    return len(rows)


def roll_up(chunk: int = CHUNK) -> dict:
    """One pass for the tenant in context. Returns what it did."""
    require_tenant_id("rolling up metrics")
    with tenant_db.atomic():
        cursor = _locked_cursor()
        low = cursor.last_sample_id
        ids = MetricSample.objects.filter(id__gt=low).order_by("id").values_list("id", flat=True)
        nth = list(ids[chunk - 1 : chunk])
        last = nth[0] if nth else None
        if last is None:
            last = MetricSample.objects.filter(id__gt=low).aggregate(m=Max("id"))["m"]
        if last is None:
            return {"samples": 0, "minutes": 0, "hours": 0, "cursor": low, "more": False}
        minutes: dict = {}
        hours: dict = {}
        samples = 0
        for group in _aggregate(low, last):
            part = {group["bucket"]: group["n"]}
            minute = group["minute"]
            for accs, start in ((minutes, minute), (hours, minute - minute % HOUR_US)):
                key = (group["series_id"], start)
                acc = accs.get(key)
                if acc is None:
                    acc = accs[key] = _Acc()
                acc.add(group["n"], group["total"], group["low"], group["high"], part)
            samples += group["n"]
        written_minutes = _merge_into(Resolution.MINUTE, minutes)
        written_hours = _merge_into(Resolution.HOUR, hours)
        cursor.last_sample_id = last
        cursor.rolled_at = timezone.now()
        cursor.save(update_fields=["last_sample_id", "rolled_at"])
    more = MetricSample.objects.filter(id__gt=last).exists()
    return {
        "samples": samples,
        "minutes": written_minutes,
        "hours": written_hours,
        "cursor": last,
        "more": more,
    }
