"""The performance manager's section of the console sidebar (its three dashboards and
its admin pages), and its card on the operations home (requests, p95 latency and errors
of the last hour)."""

from django.utils.translation import gettext_lazy as _

from perf_mgr.alerting.card import firing_alerts_card
from perf_mgr.dashboards.scope import permission
from perf_mgr.models import (
    AlertChannel,
    AlertNotification,
    AlertRoute,
    AlertRule,
    AlertSilence,
    AlertState,
    MetricRollup,
    MetricSample,
    MetricSeries,
    RollupCursor,
    SeriesGuard,
)
from tenancy.console_registry import (
    Card,
    CardRow,
    NavItem,
    register_admin_models,
    register_card,
    register_item,
    register_section,
)

MAX_CARD_TENANTS = 50  # an operator's "all tenants" card reads at most this many


def performance_card(request, tenants) -> Card | None:
    from perf_mgr import query
    from perf_mgr.models import now_us
    from tenancy.console_cards import changelist_url, may_view
    from tenancy.context import tenant_context

    if not tenants or not may_view(request, MetricSeries):
        return None
    total = query.Agg()
    errors = 0
    end = now_us()
    for tenant in tenants[:MAX_CARD_TENANTS]:
        with tenant_context(tenant):
            found = query.find_series("http_request_duration_seconds")
            win = query.make_window(end - 3600 * 1_000_000, end, now_us=end)
            data = query.collect(found, win)
        for s in found:
            agg = data.get((s.id, 0))
            if agg is not None:
                total.merge(agg)
                if s.labels.get("status") == "5xx":
                    errors += agg.count
    link = changelist_url(MetricSeries)
    if not total.count:
        return Card(
            "performance",
            _("Performance"),
            "–",
            link=link,
            empty=_(
                "No request in the last hour. The API's and the console's requests appear "
                "here (p95 latency, share of errors) as soon as they are made."
            ),
        )
    p95 = total.quantile(0.95) or 0.0
    return Card(
        "performance",
        _("Performance"),
        f"{p95 * 1000:.0f} ms",
        subtitle=_("p95 latency, last hour"),
        link=link,
        rows=(
            CardRow(_("Requests"), total.count),
            CardRow(
                _("Errors (5xx)"),
                f"{errors / total.count:.1%}",
                tone="danger" if errors / total.count >= 0.05 else "ok",
            ),
        ),
    )


def register() -> None:
    register_section("performance", _("Performance"), icon="speed", order=35)
    for title, link, icon, dashboard in (
        (_("Performance dashboard"), "console-perf-performance", "monitoring", "performance"),
        (_("Business dashboard"), "console-perf-business", "insights", "business"),
        (_("Operations dashboard"), "console-perf-operations", "dns", "operations"),
    ):
        register_item(
            "performance",
            NavItem(title, link, icon=icon, kind="dashboard", permission=permission(dashboard)),
        )
    register_admin_models(
        "performance", [MetricSeries, MetricSample, MetricRollup, RollupCursor, SeriesGuard]
    )
    register_admin_models(
        "performance",
        [AlertRule, AlertState, AlertSilence, AlertRoute, AlertChannel, AlertNotification],
    )
    register_card("performance", performance_card, order=55)
    register_card("alerts", firing_alerts_card, order=56)
