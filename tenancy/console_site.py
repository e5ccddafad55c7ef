"""The console shell: django-unfold's admin site, with our sidebar, tenant switcher and a
tenant-aware search.

Why unfold: it is the most actively maintained Django admin theme (monthly releases,
Django 5.2 support, no CDN: its CSS, fonts and scripts ship in the wheel), it takes the
sidebar as data (so our registry can fill it) and its components (cards, progress bars,
tables) work on plain admin views. Jazzmin, the other candidate, is on Bootstrap 4 and
has had few releases since 2023.

The shell only draws `tenancy.console_registry`: the managers register their sections,
pages and admin models there.
"""

from __future__ import annotations

import hashlib
import time

from django.contrib import admin
from django.core.cache import cache
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.core.validators import EMPTY_VALUES
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import force_bytes
from django.utils.translation import get_language
from unfold.sites import UnfoldAdminSite

from tenancy import console_registry as registry
from tenancy.context import get_current_tenant_id
from tenancy.middleware import SESSION_KEY
from tenancy.selectors import tenants_for_user


def _link(link: str) -> str | None:
    if link.startswith("/"):
        return link
    try:
        return reverse(link)
    except NoReverseMatch:
        return None


def _model_item(site, request, model) -> dict | None:
    model_admin = site._registry.get(model)
    if model_admin is None or not model_admin.has_module_permission(request):
        return None
    if not model_admin.has_view_or_change_permission(request):
        return None
    opts = model._meta
    return {
        "title": str(opts.verbose_name_plural).capitalize(),
        "icon": getattr(model_admin, "console_icon", "table_rows"),
        "link": reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist"),
    }


def sidebar_navigation(request) -> list[dict]:
    """The sidebar in unfold's format, built from the registry for this user: an item
    the user may not open is left out, and a section with nothing left is not drawn."""
    site = admin.site
    claimed = registry.claimed_models()
    groups = []
    for section in registry.sections():
        items = []
        for item in section.items:
            if item.permission is not None and not item.permission(request):
                continue
            link = _link(item.link)
            if link is not None:
                items.append({"title": str(item.title), "icon": item.icon, "link": link})
        models = list(section.models)
        if section.key == registry.OTHER:
            models += sorted(
                (m for m in site._registry if m not in claimed),
                key=lambda m: str(m._meta.verbose_name_plural),
            )
        for model in models:
            entry = _model_item(site, request, model)
            if entry is not None:
                items.append(entry)
        if items:
            groups.append(
                {
                    "title": str(section.title),
                    "separator": bool(groups),
                    "collapsible": False,
                    "items": items,
                }
            )
    return groups


def tenant_switcher(request) -> dict:
    """What the header's tenant switcher offers this user (only drawn for several)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenants = list(tenants_for_user(user).only("slug", "name"))
    current = getattr(request, "tenant", None)
    return {
        "switcher_tenants": tenants,
        "switcher_current": current.slug if current is not None else "",
        "switcher_chosen": request.session.get(SESSION_KEY, ""),
        "switcher_show": user.is_superuser or len(tenants) > 1,
        "switcher_all": user.is_superuser,
    }


class ConsoleAdminSite(UnfoldAdminSite):
    site_header = "Data Isolation Managers"
    site_title = "Data Isolation Managers"
    index_title = "Console"

    def each_context(self, request):
        context = super().each_context(request)
        if not context.get("has_permission"):
            # Signed out (an invitation link) or not staff: no sidebar, whose account
            # menu would describe a user there is not.
            context["is_nav_sidebar_enabled"] = False
        context.update(tenant_switcher(request))
        return context

    def search(self, request, extra_context=None):
        """unfold's search, with the tenant and language in the cache key.

        unfold caches results per user and term only: a user of two tenants would be shown
        the first tenant's records after switching to the second. Results are cached for
        a short time per (user, tenant, language, term) instead. Copied from unfold 0.91
        because the key is built inside the method."""
        started = time.monotonic()
        term = request.GET.get("s")
        if term in EMPTY_VALUES:
            return HttpResponse()
        term = term.lower()
        extended = "extended" in request.GET
        scope = get_current_tenant_id() or "platform"
        key = (
            "console_search_"
            + hashlib.sha256(
                force_bytes(f"{request.user.pk}|{scope}|{get_language()}|{extended}|{term}")
            ).hexdigest()
        )
        results = cache.get(key)
        if results is None:
            app_list = super(UnfoldAdminSite, self).get_app_list(request)
            results = self._search_apps(app_list, term)
            if extended:
                results.extend(self._search_models(request, app_list, term, None))
            cache.set(key, results, timeout=60)
        paginator = Paginator(results, 100)
        try:
            page = paginator.page(request.GET.get("page", 1))
        except (EmptyPage, PageNotAnInteger):
            page = paginator.page(1)
        return TemplateResponse(
            request,
            template="unfold/helpers/command_results.html"
            if extended
            else "unfold/helpers/search_results.html",
            context={
                "page_obj": paginator,
                "results": page,
                "page_counter": (page.number - 1) * 100,
                "execution_time": time.monotonic() - started,
                "command_show_history": False,
            },
            headers={"HX-Trigger": "search"},
        )
