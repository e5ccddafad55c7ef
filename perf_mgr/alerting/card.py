"""The "Firing alerts" KPI card of the operations home: firing alerts of the tenants
the viewer sees, the critical ones counted apart, and the outbox's backlog."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from perf_mgr.models.alerting import (
    AlertNotification,
    AlertRule,
    AlertState,
    AlertStatus,
    DeliveryStatus,
)

MAX_CARD_TENANTS = 50


def firing_alerts_card(request, tenants):
    from tenancy.console_cards import changelist_url, may_view
    from tenancy.console_registry import Card, CardRow
    from tenancy.context import tenant_context

    if not tenants or not may_view(request, AlertState):
        return None
    firing = critical = rules = backlog = 0
    for tenant in tenants[:MAX_CARD_TENANTS]:
        with tenant_context(tenant):
            rules += AlertRule.objects.filter(enabled=True).count()
            states = AlertState.objects.filter(status=AlertStatus.FIRING)
            firing += states.count()
            critical += states.filter(rule__severity="critical").count()
            backlog += AlertNotification.objects.filter(status=DeliveryStatus.PENDING).count()
    link = changelist_url(AlertState)
    if not rules:
        return Card(
            "alerts",
            _("Firing alerts"),
            "–",
            link=changelist_url(AlertRule),
            empty=_(
                "No alert rule yet. Add one under Performance › Alert rules (or POST the "
                "seed's YAML to /api/v1/alerts/rules/import/); its firing alerts appear here."
            ),
        )
    return Card(
        "alerts",
        _("Firing alerts"),
        firing,
        subtitle=_("over %(rules)s enabled rules") % {"rules": rules},
        link=link,
        rows=(
            CardRow(_("Critical"), critical, tone="danger" if critical else "ok"),
            CardRow(_("Notifications waiting"), backlog, tone="warning" if backlog else "ok"),
        ),
    )
