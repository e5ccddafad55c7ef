"""The console's "Tenant moves" page (platform operators): every tenant with its
isolation mode and its latest move (state, step, progress), and the two actions of
issue 17, "move to dedicated" (the new database's URLs) and "move to pooled". GET never
writes; a POST starts a move through the same action as the API (everything checked
before the run exists), and a refusal is shown on the page with its reasons."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from connection_mgr.actions import ConnectionUsageError
from connection_mgr.console import may_view
from connection_mgr.models import Mode, TenantDatabase
from move_mgr import actions
from move_mgr.workflow import NAME
from tenancy.console import console_context
from tenancy.context import tenant_context
from workflow_mgr import selectors
from workflow_mgr.models import StepRun

PAGE_SIZE = 200  # tenants on the page, by slug


def _latest_move(tenant) -> dict | None:
    """The tenant's latest move, read in its own context (runs are its rows)."""
    with tenant_context(tenant):
        run = selectors.runs(name=NAME).first()
        if run is None:
            return None
        current = (
            StepRun.objects.filter(run=run, phase="action").order_by("-created_at", "-id").first()
        )
        return {
            "run": run,
            "progress": round(selectors.progress(run) * 100),
            "step": current.name if current else "",
            "step_state": current.state if current else "",
            "active": run.state in actions.ACTIVE,
        }


def _rows() -> list[dict]:
    from tenancy.models import Tenant

    modes = dict(TenantDatabase.objects.values_list("tenant_id", "mode"))
    rows = []
    for tenant in Tenant.objects.order_by("slug")[:PAGE_SIZE]:
        mode = modes.get(tenant.pk, Mode.POOLED)
        rows.append({"tenant": tenant, "mode": mode, "move": _latest_move(tenant)})
    return rows


def _page(request, status: int = 200):
    # The URLs typed are never drawn back into the page (they carry passwords).
    context = console_context(request, _("Tenant moves"))
    context.update(rows=_rows(), Mode=Mode)
    return render(request, "move_mgr/console.html", context, status=status)


def _require_operator(request) -> None:
    if not may_view(request):
        raise PermissionDenied(_("Tenant moves are for platform operators."))


@never_cache
@login_required
@require_http_methods(["GET", "HEAD"])
def moves_page(request):
    _require_operator(request)
    return _page(request)


@never_cache
@login_required
@require_POST
def start_move(request, slug: str):
    """Start "move to dedicated" (url, owner_url) or "move to pooled" for `slug`."""
    from tenancy.models import Tenant

    _require_operator(request)
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        messages.error(request, _("No tenant %(slug)s.") % {"slug": slug})
        return _page(request, status=404)
    to = request.POST.get("to", "")
    url, owner_url = request.POST.get("url", "").strip(), request.POST.get("owner_url", "").strip()
    try:
        run = actions.do_start_move(
            tenant, to, url=url, owner_url=owner_url, actor=request.user.get_username()
        )
    except ConnectionUsageError as exc:
        messages.error(
            request,
            _("The move of %(slug)s was refused: %(reasons)s")
            % {"slug": slug, "reasons": "; ".join(exc.reasons)},
        )
        return _page(request, status=409 if exc.conflict else 400)
    messages.success(
        request,
        _("Moving %(slug)s to %(to)s: workflow run #%(id)s started.")
        % {"slug": slug, "to": Mode(to).label, "id": run.pk},
    )
    return redirect("console-moves")
