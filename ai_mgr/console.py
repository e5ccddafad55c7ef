"""The console's AI page (/console/ai/): the tenant's models, each with its aliases and
versions (lineage and holdout metrics per version), and a Promote button per version.

Members (viewer and up) see the registry; admins and owners promote (a POST; anyone
else gets a 403). Promoting goes through `ai_mgr.actions.promote`, so it is audited and
recorded in the alias history like an API promotion. Without a tenant there is nothing
to show (models are per tenant): the page asks to pick one."""

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

from ai_mgr import actions, selectors
from ai_mgr.exceptions import AIError
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id
from tenancy.models import Role

VIEW_ROLE, ACT_ROLE = Role.VIEWER, Role.ADMIN
MAX_VERSIONS = 20  # per model on the page; the API pages through all of them


def may_view(request) -> bool:
    user = getattr(request, "user", None)
    return bool(
        user and user.is_authenticated and get_current_tenant_id() is not None
    ) and tenant_role_at_least(request, VIEW_ROLE)


def _require(request, role) -> None:
    if get_current_tenant_id() is None:
        raise Http404(_("Choose a tenant first."))
    if not tenant_role_at_least(request, role):
        raise PermissionDenied(_("Your role in this tenant does not allow this."))


def _models() -> list[dict]:
    out = []
    for model in selectors.models_of_tenant():
        aliases = selectors.aliases_of(model)
        by_version: dict[int, list[str]] = {}
        for alias, number in aliases.items():
            by_version.setdefault(number, []).append(alias)
        versions = [
            {
                "v": v,
                "aliases": sorted(by_version.get(v.number, [])),
                "metrics": sorted(v.metrics.items()),
            }
            for v in selectors.versions_of(model)[:MAX_VERSIONS]
        ]
        out.append({"model": model, "aliases": sorted(aliases.items()), "versions": versions})
    return out


@never_cache
@login_required
@require_GET
def registry_page(request):
    _require(request, VIEW_ROLE)
    context = console_context(request, _("AI models"))
    context.update(models=_models(), may_act=tenant_role_at_least(request, ACT_ROLE))
    return render(request, "ai_mgr/console/registry.html", context)


@never_cache
@login_required
@require_POST
def promote_view(request, name: str, number: int):
    _require(request, ACT_ROLE)
    alias = request.POST.get("alias") or actions.CHAMPION
    try:
        actions.promote(
            name, number, alias=alias, actor=request.user.get_username(), reason="console"
        )
    except AIError as exc:
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(model)s v%(version)s is now %(alias)s.")
            % {"model": name, "version": number, "alias": alias},
        )
    return HttpResponseRedirect(reverse("console-ai"))
