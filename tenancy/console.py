"""Console home (the operations home): KPI cards of the chosen tenant, or of every
tenant for an operator who chose "All tenants", then the tenants the user may see with
their member and row counts."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tenancy.console_cards import card_tenants, cards_for
from tenancy.middleware import SESSION_KEY
from tenancy.resolution import TenantResolutionError, resolve
from tenancy.selectors import tenant_overview, tenants_for_user


def console_context(request, title=None) -> dict:
    """What the console shell (`admin/base_site.html`) needs on a page that is not an admin
    view: the sidebar, the header's tenant switcher and log-out, branding, favicon. The
    page's `title` is its heading: the shell draws it as the page's one `<h1>`, so the
    page's own template starts at `<h2>`."""
    context = admin.site.each_context(request)
    if title is not None:
        context.update(title=title, content_title=title)
    return context


@login_required
def console_home(request):
    tenants = tenants_for_user(request.user)
    if request.tenant is not None:
        tenants = [request.tenant]
    overview = tenant_overview(tenants, actor=request.user.get_username())
    choices = tenants_for_user(request.user).values_list("slug", flat=True)
    # The managers' cards (console_registry.register_card). Firing alerts come from the
    # performance manager's card once that manager exists: nothing stands in for it.
    covered = card_tenants(request)
    cards = cards_for(request, covered) if covered is not None else []
    return render(
        request,
        "console/home.html",
        {
            "overview": overview,
            "cards": cards,
            "card_scope": "none" if covered is None else "tenant" if request.tenant else "all",
            "card_tenant_count": len(covered or ()),
            "choices": list(choices),
            "chosen": request.session.get(SESSION_KEY),
            **console_context(request, _("Operations home")),
        },
    )


def _safe_next(request) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("console-home")


@login_required
@require_POST
def switch_tenant(request):
    """The header's tenant switcher. An unknown tenant, one the user is not a member of,
    or a suspended one: the switcher's page again with the reason, status 400, and the
    current choice kept."""
    slug = request.POST.get("tenant", "").strip()
    if not slug:
        request.session.pop(SESSION_KEY, None)
        return redirect(_safe_next(request))
    try:
        resolve(request.user, slug)
    except TenantResolutionError as exc:
        return render(
            request,
            "console/switch_refused.html",
            {"message": exc.message, **console_context(request, _("Tenant not switched"))},
            status=400,
        )
    request.session[SESSION_KEY] = slug
    return redirect(_safe_next(request))
