"""The performance manager in the console: read-only lists of a tenant's series,
samples, roll-ups and series-guard state (metrics are written by the collectors, the
API and the roll-ups, never by hand)."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from perf_mgr.models import (
    MetricAnomaly,
    MetricRollup,
    MetricSample,
    MetricSeries,
    Recommendation,
    RollupCursor,
    SeriesGuard,
)
from tenancy.admin_base import TenantScopedAdmin
from tenancy.models import Role


class ReadOnlyScopedAdmin(TenantScopedAdmin):
    """Admins of the tenant see the rows; nobody adds, changes or deletes them here."""

    view_role = Role.ADMIN

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MetricSeries)
class MetricSeriesAdmin(ReadOnlyScopedAdmin):
    list_display = ["name", "label_text", "category", "created_at"]
    list_filter = ["category"]
    search_fields = ["name"]
    exclude = ["digest"]

    @admin.display(description=_("labels"))
    def label_text(self, obj):
        return ", ".join(f"{k}={v}" for k, v in sorted(obj.labels.items())) or "–"


@admin.register(MetricSample)
class MetricSampleAdmin(ReadOnlyScopedAdmin):
    list_display = ["sampled_at", "series_id", "value"]
    show_full_result_count = False  # counting millions of samples per page view is waste

    @admin.display(description=_("time"), ordering="at_us")
    def sampled_at(self, obj):
        return obj.at


@admin.register(MetricRollup)
class MetricRollupAdmin(ReadOnlyScopedAdmin):
    list_display = ["starts", "resolution", "series_id", "count", "average", "min", "max"]
    list_filter = ["resolution"]
    exclude = ["sketch"]
    show_full_result_count = False

    @admin.display(description=_("start"), ordering="start_us")
    def starts(self, obj):
        return obj.start

    @admin.display(description=_("average"))
    def average(self, obj):
        return format_html("{}", f"{obj.sum / obj.count:.6g}") if obj.count else "–"


@admin.register(RollupCursor)
class RollupCursorAdmin(ReadOnlyScopedAdmin):
    list_display = ["last_sample_id", "rolled_at"]


@admin.register(SeriesGuard)
class SeriesGuardAdmin(ReadOnlyScopedAdmin):
    list_display = ["refused_total", "last_refused_name", "last_refused_at"]


@admin.register(MetricAnomaly)
class MetricAnomalyAdmin(ReadOnlyScopedAdmin):
    # Written by the detector (perf_mgr/anomalies.py) only.
    list_display = ["observed_at", "metric", "observed", "expected", "lower", "upper", "score"]
    list_filter = ["metric"]


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyScopedAdmin):
    # Applied and rolled back through optimize.py (the API), where each step is audited.
    list_display = ["created_at", "kind", "current_value", "proposed_value", "status"]
    list_filter = ["status", "kind"]


# The alerting models' admins (rules, alerts, channels, outbox).
from perf_mgr.alerting import admin as alerting_admin  # noqa: E402, F401
