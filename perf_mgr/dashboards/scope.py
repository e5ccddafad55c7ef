"""Who may open a dashboard, and which tenants it covers.

Tenant staff see the tenant their request runs in (the console's tenant switcher picks
it for a member of several), never another: a `?tenant=` naming another tenant is a 404
like an unknown one. A platform operator (superuser) sees the tenant chosen in the
switcher, or names one with `?tenant=<slug>`; with "All tenants" chosen and no
parameter, every tenant together (read under the audited platform access the console
opened for them, each tenant in its own context)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from tenancy.admin_base import tenant_role_at_least
from tenancy.context import get_current_tenant_id, in_platform_access
from tenancy.models import Role, Tenant

MAX_TENANTS = 50  # "all tenants": at most this many, by slug

# Performance figures are what the metrics API lets viewers read; the Business and
# Operations dashboards show members, sessions and key versions: the admin pages' role.
ROLES = {"performance": Role.VIEWER, "business": Role.ADMIN, "operations": Role.ADMIN}


@dataclass(frozen=True)
class Scope:
    tenants: list  # the tenants read, each in its own tenant context
    label: str  # for the page's title: a tenant's name, or "all tenants"
    everyone: bool  # an operator's view of every tenant
    chosen: str = ""  # the ?tenant= slug an operator named ("" if none)


def _in_scope(request) -> bool:
    user = request.user
    return get_current_tenant_id() is not None or (user.is_superuser and in_platform_access())


def has_role(request, dashboard: str) -> bool:
    return tenant_role_at_least(request, ROLES[dashboard])


def may_open(request, dashboard: str) -> bool:
    """The sidebar's test (the view answers the others 404 or 403)."""
    user = request.user
    return user.is_active and user.is_staff and _in_scope(request) and has_role(request, dashboard)


def permission(dashboard: str):
    return lambda request: may_open(request, dashboard)


def resolve(request, all_label: str) -> Scope:
    """The tenants of this request's dashboard; Http404 for a tenant it may not see."""
    wanted = (request.GET.get("tenant") or "").strip()
    current = getattr(request, "tenant", None)
    if request.user.is_superuser and wanted:
        tenant = Tenant.objects.filter(slug=wanted).first()
        if tenant is None:
            raise Http404("no such tenant")
        return Scope([tenant], tenant.name, False, chosen=tenant.slug)
    if current is not None:
        if wanted and wanted != current.slug:
            raise Http404("no such tenant")  # the same answer as an unknown one
        return Scope([current], current.name, False)
    if request.user.is_superuser and in_platform_access():
        tenants = list(Tenant.objects.order_by("slug")[:MAX_TENANTS])
        return Scope(tenants, all_label, True)
    raise Http404("choose a tenant first")
