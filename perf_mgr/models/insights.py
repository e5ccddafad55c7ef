"""Insights of a tenant (issue 15, items 4 and 6): detected metric anomalies with their
evidence, and optimisation recommendations with what applying them changed. Both are
TenantScopedModels (scoped ORM, RLS with FORCE, the conformance suite). The code is in
perf_mgr/anomalies.py and perf_mgr/optimize.py; the computation in ai_mgr."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class MetricAnomaly(TenantScopedModel):
    """One observation outside its expected band. `evidence` holds the band's basis
    (seasonal or not, robust sigma, z); `drivers` the other metrics that moved with it."""

    metric = models.CharField(max_length=100, verbose_name=_("metric"))
    method = models.CharField(max_length=30, default="robust", verbose_name=_("method"))
    observed_at = models.DateTimeField(verbose_name=_("observed at"))
    observed = models.FloatField(verbose_name=_("observed value"))
    expected = models.FloatField(verbose_name=_("expected value"))
    lower = models.FloatField(verbose_name=_("band lower"))
    upper = models.FloatField(verbose_name=_("band upper"))
    score = models.FloatField(verbose_name=_("anomaly score"))
    drivers = models.JSONField(default=list, blank=True, verbose_name=_("drivers"))
    evidence = models.JSONField(default=dict, blank=True, verbose_name=_("evidence"))
    detected_at = models.DateTimeField(default=timezone.now, verbose_name=_("detected at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("metric anomaly")
        verbose_name_plural = _("metric anomalies")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "metric", "method", "observed_at"], name="uniq_metric_anomaly"
            )
        ]
        indexes = [models.Index(fields=["tenant", "observed_at"], name="metric_anomaly_time_idx")]
        ordering = ["-observed_at", "-id"]

    def __str__(self):
        return f"{self.metric}@{self.observed_at:%Y-%m-%d %H:%M} ({self.score:.2f})"


class RecommendationStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPLIED = "applied", _("Applied")
    ROLLED_BACK = "rolled_back", _("Rolled back")
    SUPERSEDED = "superseded", _("Superseded")


class Recommendation(TenantScopedModel):
    """One piece of advice: which knob, from what to what, why, and what it should do.
    `auto_applicable` False means advice only (a platform-wide knob, or too risky to
    change without an operator): applying it is refused with a 409. An applied one
    keeps the value it replaced, so one call restores it."""

    kind = models.CharField(max_length=40, verbose_name=_("kind"))
    target = models.CharField(max_length=100, blank=True, default="", verbose_name=_("target"))
    strategy = models.CharField(max_length=20, verbose_name=_("strategy"))
    current_value = models.JSONField(null=True, blank=True, verbose_name=_("current value"))
    proposed_value = models.JSONField(null=True, blank=True, verbose_name=_("proposed value"))
    reasoning = models.TextField(verbose_name=_("reasoning"))
    expected_effect = models.TextField(verbose_name=_("expected effect"))
    evidence = models.JSONField(default=dict, blank=True, verbose_name=_("evidence"))
    auto_applicable = models.BooleanField(default=False, verbose_name=_("auto-applicable"))
    advice_only_reason = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("why advice only")
    )
    watched_metric = models.CharField(
        max_length=100, blank=True, default="", verbose_name=_("watched metric")
    )
    watched_baseline = models.FloatField(null=True, blank=True, verbose_name=_("watched baseline"))
    status = models.CharField(
        max_length=12,
        choices=RecommendationStatus.choices,
        default=RecommendationStatus.PROPOSED,
        verbose_name=_("status"),
    )
    previous_value = models.JSONField(null=True, blank=True, verbose_name=_("replaced value"))
    applied_at = models.DateTimeField(null=True, blank=True, verbose_name=_("applied at"))
    applied_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("applied by")
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True, verbose_name=_("rolled back at"))
    rollback_reason = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("rollback reason")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        indexes = [models.Index(fields=["tenant", "status"], name="recommendation_status_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.target}: {self.current_value} -> {self.proposed_value}"
