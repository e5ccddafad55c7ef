"""The dashboard pages: GET only, nothing written. Each runs `scope.resolve` (the
tenants it may show), reads `data` in each tenant's own context, and draws `charts`."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from perf_mgr.dashboards import charts, data, scope
from tenancy.console import console_context
from tenancy.models import Tenant

PAGES = {
    "performance": (data.performance_data, charts.performance_charts),
    "business": (data.business_data, charts.business_charts),
    "operations": (data.operations_data, charts.operations_charts),
}


def _titles():
    return {
        "performance": _("Performance"),
        "business": _("Business"),
        "operations": _("Operations"),
    }


def _page(request, dashboard: str):
    where = scope.resolve(request, _("all tenants"))  # 404: no tenant, or not theirs
    if not scope.has_role(request, dashboard):
        raise PermissionDenied(_("this dashboard needs a higher role in the tenant"))
    gather, draw = PAGES[dashboard]
    found = gather(where.tenants, where.everyone)
    drawn = draw(found)
    title = _titles()[dashboard]
    return render(
        request,
        f"perf_mgr/{dashboard}.html",
        {
            **console_context(request, f"{title} — {where.label}"),
            "dashboard": dashboard,
            "charts": drawn,
            "any_chart": any(not c.is_empty for c in drawn.values()),
            "data": found,
            "scope": where,
            # An operator may name any tenant (?tenant=): a picker on the page.
            "tenant_choices": (
                list(Tenant.objects.order_by("slug").values_list("slug", "name"))
                if request.user.is_superuser
                else []
            ),
        },
    )


@require_safe
@staff_member_required
def performance_dashboard(request):
    return _page(request, "performance")


@require_safe
@staff_member_required
def business_dashboard(request):
    return _page(request, "business")


@require_safe
@staff_member_required
def operations_dashboard(request):
    return _page(request, "operations")
