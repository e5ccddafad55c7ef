"""Console home: the tenants the user may see, with real member and row counts, and
the tenant switcher for users who belong to several tenants."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenancy.middleware import SESSION_KEY
from tenancy.resolution import TenantResolutionError, resolve
from tenancy.selectors import tenant_overview, tenants_for_user


def console_header(request) -> dict:
    """The admin's site header and user tools (log out) that `admin/base_site.html`
    expects, for console pages that are not admin views; not the model sidebar, which
    would squeeze their content."""
    site = admin.site
    return {
        "site_header": site.site_header,
        "site_title": site.site_title,
        "site_url": site.site_url,
        "has_permission": site.has_permission(request),
    }


@login_required
def console_home(request):
    tenants = tenants_for_user(request.user)
    if request.tenant is not None:
        tenants = [request.tenant]
    overview = tenant_overview(tenants, actor=request.user.get_username())
    choices = tenants_for_user(request.user).values_list("slug", flat=True)
    return render(
        request,
        "console/home.html",
        {
            "overview": overview,
            "choices": list(choices),
            "chosen": request.session.get(SESSION_KEY),
            **console_header(request),
        },
    )


@login_required
@require_POST
def switch_tenant(request):
    slug = request.POST.get("tenant", "").strip()
    if not slug:
        request.session.pop(SESSION_KEY, None)
        return redirect("console-home")
    try:
        resolve(request.user, slug)
    except TenantResolutionError as exc:
        return HttpResponseBadRequest(exc.message)
    request.session[SESSION_KEY] = slug
    return redirect("console-home")
