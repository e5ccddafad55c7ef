"""Stored metrics of a tenant: series (name + canonical labels), raw samples, roll-ups
and the per-tenant bookkeeping of roll-ups and the series guard.

Samples reference their series by id in a plain integer column, not a foreign key:
samples arrive by PostgreSQL COPY at hundreds of thousands a second, and a foreign key
would cost a referential check per row in the database (and, through the scoped ORM,
a query per row). The reference stays inside the tenant: every read joins the two
tables within the tenant in context (row-level security on both), so a sample that
names another tenant's series id matches nothing, and only the flusher, with ids it got
from this tenant's series, writes samples.

Samples carry no foreign-key constraint to their tenant either (the column is the
tenant's id, checked by row-level security against the connection's proven claim on
every insert): the referential check per row cost more than half of the ingest time
(docs/performance.md, "Ingest"). A tenant's samples go with its purge, like all its rows.

Times are integer microseconds since the epoch (`*_us`): COPY writes them without
conversion, and roll-up buckets are integer arithmetic on every backend.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel
from tenancy.models.scoped import TenantForeignKey

MINUTE_US = 60_000_000
HOUR_US = 3_600_000_000


def from_us(us: int | None) -> dt.datetime | None:
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC)


def now_us() -> int:
    return int(timezone.now().timestamp() * 1e6)


class Category(models.TextChoices):
    CUSTOM = "custom", _("Custom")
    BUSINESS = "business", _("Business")
    PERFORMANCE = "performance", _("Performance")
    SYSTEM = "system", _("System (collectors)")


class MetricSeries(TenantScopedModel):
    """One time series: a metric name and one set of label values, in one tenant. How
    many a tenant may have is capped per tier (perf_mgr/series.py)."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    # blake2b-128 of name + canonical labels: the identity, short enough to index.
    digest = models.CharField(max_length=32, editable=False, verbose_name=_("digest"))
    category = models.CharField(
        max_length=12, choices=Category.choices, default=Category.CUSTOM, verbose_name=_("category")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("metric series")
        verbose_name_plural = _("metric series")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "digest"], name="uniq_metric_series")
        ]
        indexes = [models.Index(fields=["tenant", "name"], name="metric_series_name_idx")]
        ordering = ["name", "id"]

    def __str__(self):
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{labels}}}"


class MetricSample(TenantScopedModel):
    """A raw sample, kept for the tenant tier's raw retention; roll-ups keep the rest."""

    tenant = TenantForeignKey(
        "tenancy.Tenant",
        on_delete=models.DO_NOTHING,
        related_name="+",
        editable=False,
        db_constraint=False,  # see the module's docstring
    )
    series_id = models.BigIntegerField(verbose_name=_("series"))
    at_us = models.BigIntegerField(verbose_name=_("time (µs)"))
    value = models.FloatField(verbose_name=_("value"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("metric sample")
        verbose_name_plural = _("metric samples")
        # Plus a BRIN index on at_us on PostgreSQL (migration 0002): time ranges of the
        # raw listing, for a few bytes per thousand rows instead of a B-tree per row. The
        # primary key there is (tenant_id, id) (migration 0007): no second B-tree on id.

    def __str__(self):
        return f"{self.series_id}@{self.at_us}={self.value:g}"

    @property
    def at(self):
        return from_us(self.at_us)


class Resolution(models.IntegerChoices):
    MINUTE = 60, _("1 minute")
    HOUR = 3600, _("1 hour")


class MetricRollup(TenantScopedModel):
    """Count, sum, min, max and a quantile sketch (perf_mgr/sketch.py) of one series
    over one minute or one hour."""

    series_id = models.BigIntegerField(verbose_name=_("series"))
    resolution = models.PositiveIntegerField(
        choices=Resolution.choices, verbose_name=_("resolution")
    )
    start_us = models.BigIntegerField(verbose_name=_("start (µs)"))
    count = models.BigIntegerField(default=0, verbose_name=_("count"))
    sum = models.FloatField(default=0.0, verbose_name=_("sum"))
    min = models.FloatField(default=0.0, verbose_name=_("minimum"))
    max = models.FloatField(default=0.0, verbose_name=_("maximum"))
    # Packed (code, count) records: perf_mgr/sketch.py
    sketch = models.BinaryField(default=b"", blank=True, verbose_name=_("sketch"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("metric roll-up")
        verbose_name_plural = _("metric roll-ups")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "resolution", "series_id", "start_us"], name="uniq_metric_rollup"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "resolution", "start_us"], name="metric_rollup_time_idx")
        ]

    def __str__(self):
        return f"{self.series_id}@{self.start_us}/{self.resolution}s"

    @property
    def start(self):
        return from_us(self.start_us)


class RollupCursor(TenantScopedModel):
    """How far the roll-ups of the tenant have read its samples: every sample with an id
    up to `last_sample_id` is in both roll-ups, none above it is. Readers add the raw
    samples above it (perf_mgr/query.py), so a window is exact at any moment."""

    last_sample_id = models.BigIntegerField(default=0, verbose_name=_("last sample id"))
    rolled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("rolled at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("roll-up cursor")
        verbose_name_plural = _("roll-up cursors")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_rollup_cursor")]

    def __str__(self):
        return f"≤ {self.last_sample_id}"


class SeriesGuard(TenantScopedModel):
    """New series refused because the tenant reached its limit: counted, with the last
    one refused, so an owner sees what a caller tried to create."""

    refused_total = models.BigIntegerField(default=0, verbose_name=_("refused total"))
    last_refused_name = models.CharField(
        max_length=100, blank=True, default="", verbose_name=_("last refused name")
    )
    last_refused_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last refused at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("series guard")
        verbose_name_plural = _("series guards")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_series_guard")]

    def __str__(self):
        return f"{self.refused_total} refused"


# The alerting models (perf_mgr/alerting/ holds their code). Exported here like the
# metric models; a module of this package, so perf_mgr.models stays free of cycles.
from perf_mgr.models.alerting import (  # noqa: E402, F401
    AlertChannel,
    AlertNotification,
    AlertRoute,
    AlertRule,
    AlertSilence,
    AlertState,
)
from perf_mgr.models.insights import (  # noqa: E402, F401
    MetricAnomaly,
    Recommendation,
    RecommendationStatus,
)
