"""The console's GDPR page (/console/lifecycle/gdpr/): the tenant's exports with their
progress and download, and its erasure certificates with their verification.

Admins of the tenant (and platform operators who picked it) see the page and may ask for
a tenant export; the archive's key is shown on the answer page, once. The download is a
POST (a GET never takes the archive) and follows the API's rules (once, before expiry).
A tenant must be chosen: the page shows one tenant's exports, never several."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lifecycle_mgr import erasure, exports
from lifecycle_mgr.gdpr_models import ErasureCertificate, ExportArchive
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.console_registry import NavItem, register_item, register_section
from tenancy.context import get_current_tenant_id
from tenancy.models import Role

ROLE = Role.ADMIN


def may_view(request) -> bool:
    user = getattr(request, "user", None)
    return bool(
        user and user.is_authenticated and get_current_tenant_id() is not None
    ) and tenant_role_at_least(request, ROLE)


def _require(request) -> None:
    if get_current_tenant_id() is None:
        raise Http404(_("Choose a tenant first."))
    if not tenant_role_at_least(request, ROLE):
        raise PermissionDenied(_("The GDPR page is for the tenant's admins."))


def _page(request, *, key: str = "", status: int = 200):
    rows = []
    for export in ExportArchive.objects.select_related("job").order_by("-created_at", "-id")[:50]:
        rows.append({"export": export, "token": exports.download_link(export)})
    certificates = [
        {"certificate": c, "verification": erasure.verify_certificate(c, sequence_first=False)}
        for c in ErasureCertificate.objects.order_by("-created_at", "-id")[:20]
    ]
    context = {
        **console_context(request, _("GDPR exports and erasure")),
        "rows": rows,
        "certificates": certificates,
        "key": key,
    }
    return render(request, "lifecycle_mgr/console/gdpr.html", context, status=status)


@never_cache
@login_required
@require_GET
def gdpr_page(request):
    _require(request)
    return _page(request)


@never_cache
@login_required
@require_POST
def request_tenant_export(request):
    _require(request)
    try:
        _export, key = exports.request_export(actor=request.user.get_username())
    except exports.ExportError as exc:
        messages.error(request, str(exc))
        return _page(request, status=exc.status)
    # Rendered, not redirected: the key must not travel in a URL, and is shown this once.
    return _page(request, key=key, status=202)


@never_cache
@login_required
@require_POST
def download(request, token: str):
    _require(request)
    try:
        export, body = exports.take_download(token, actor=request.user.get_username())
    except exports.ExportError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("console-lifecycle-gdpr"))
    response = HttpResponse(body, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="export-{export.pk}.dimx"'
    response["Cache-Control"] = "no-store"
    return response


def register_nav() -> None:
    register_section("lifecycle", gettext_lazy("Tenant lifecycle"), icon="autorenew", order=70)
    register_item(
        "lifecycle",
        NavItem(gettext_lazy("GDPR"), "console-lifecycle-gdpr", icon="gavel", permission=may_view),
    )
