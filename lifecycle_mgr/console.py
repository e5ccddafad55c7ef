"""The console's Lifecycle and Compliance pages (under /console/lifecycle/).

Lifecycle: in a tenant, its state, tier, what may happen next, its quota usage and the
history of its transitions (members with any role); a platform operator also sees every
enrolled tenant and asks for transitions there (each starts its `lifecycle.*` workflow;
a refusal is a message saying why, and nothing changes). Compliance: docs/compliance.md
as a page, for every console user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lifecycle_mgr import actions, compliance, quotas, selectors, states
from lifecycle_mgr.holds import LegalHoldActive
from lifecycle_mgr.models import TenantLifecycle
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id
from tenancy.models import Role, Tenant


def may_view(request) -> bool:
    """The sidebar's permission for the Lifecycle item: a role in the tenant, or an
    operator."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    return get_current_tenant_id() is not None and tenant_role_at_least(request, Role.VIEWER)


def may_read(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


def _quota_rows(tenant_id: int) -> list[dict]:
    rows = []
    for row in quotas.usage(tenant_id):
        limit, used = row["limit"], row["used"]
        share = round(100 * used / limit) if limit and used is not None else None
        rows.append({**row, "share": share})
    return rows


@never_cache
@login_required
@require_GET
def lifecycle_page(request):
    if not may_view(request):
        raise PermissionDenied(_("The lifecycle page needs a role in the tenant."))
    tenant_id = get_current_tenant_id()
    context = console_context(request, _("Lifecycle"))
    if tenant_id is not None:
        row = selectors.lifecycle_of(tenant_id)
        context.update(
            lifecycle=selectors.describe(row) if row else None,
            quota_rows=_quota_rows(tenant_id),
            history=selectors.transition_history(tenant_id, limit=20) if row else [],
        )
    if request.user.is_superuser:
        rows = TenantLifecycle.objects.select_related("tenant", "policy").order_by("tenant__slug")
        context["tenants"] = [{"row": r, "allowed": states.allowed_from(r.state)} for r in rows]
    return render(request, "lifecycle_mgr/console/lifecycle.html", context)


@never_cache
@login_required
@require_POST
def transition(request, slug: str):
    if not request.user.is_superuser:
        raise PermissionDenied(_("Only platform operators move tenants through the lifecycle."))
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise Http404
    name = request.POST.get("transition", "")
    try:
        run = actions.request_transition(tenant.pk, name, actor=request.user.get_username())
    except (states.IllegalTransition, LegalHoldActive) as exc:
        messages.warning(request, f"{tenant.slug}: {exc}")
    else:
        messages.success(
            request,
            _("%(tenant)s: %(name)s started (workflow run #%(run)s).")
            % {"tenant": tenant.slug, "name": name, "run": run.pk},
        )
    return HttpResponseRedirect(reverse("console-lifecycle"))


@never_cache
@login_required
@require_GET
def compliance_page(request):
    if not may_read(request):
        raise PermissionDenied
    context = console_context(request, _("Compliance"))
    context["sections"] = compliance.sections()
    return render(request, "lifecycle_mgr/console/compliance.html", context)
