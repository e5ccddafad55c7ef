"""The console's Cache page: the tenant's statistics by namespace, its in-process usage
against its quota, what prefetching learned, and (admins) buttons that invalidate one
namespace or the whole tenant. GET never writes; the buttons POST to `cache_invalidate`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cache_mgr import actions, selectors
from cache_mgr.api import CacheUsageError
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id
from tenancy.models import Role


def may_view(request) -> bool:
    user = getattr(request, "user", None)
    return bool(
        user and user.is_authenticated and get_current_tenant_id() is not None
    ) and tenant_role_at_least(request, Role.ADMIN)


@never_cache
@login_required
@require_GET
def cache_page(request):
    if not may_view(request):
        raise PermissionDenied(_("The cache page needs the admin role in a tenant."))
    context = console_context(request, _("Cache"))
    context["stats"] = selectors.tenant_stats()
    return render(request, "cache_mgr/console.html", context)


@login_required
@require_POST
def cache_invalidate(request):
    if not may_view(request):
        raise PermissionDenied(_("Invalidating the cache needs the admin role in a tenant."))
    namespace = (request.POST.get("namespace") or "").strip()
    actor = request.user.get_username()
    try:
        if namespace:
            actions.do_invalidate_namespace(namespace, actor=actor)
            messages.success(request, _("Namespace %(ns)s invalidated.") % {"ns": namespace})
        else:
            actions.do_invalidate_tenant(actor=actor)
            messages.success(request, _("The tenant's whole cache was invalidated."))
    except CacheUsageError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(reverse("console-cache"))
