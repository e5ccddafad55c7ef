"""The console's Connections page (platform operators): every database alias with its
kind, pool and circuit breaker, and a health check on demand. GET never writes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from connection_mgr import health, selectors
from tenancy.console import console_context


def may_view(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_superuser)


@never_cache
@login_required
@require_GET
def connections_page(request):
    if not may_view(request):
        raise PermissionDenied(_("The connections page is for platform operators."))
    context = console_context(request, _("Connections"))
    context["rows"] = selectors.connection_states()
    if request.GET.get("check"):
        context["checks"] = {
            r["alias"]: r for r in health.check_all(r["alias"] for r in context["rows"])
        }
    return render(request, "connection_mgr/console.html", context)
