"""Another tenant's object through the API and the admin: discovered automatically for
every scoped viewset in the URLconf and every scoped model registered in the admin."""

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tenancy.api.base import TenantScopedModelViewSet
from tenancy.context import tenant_context
from tenancy.models import is_tenant_scoped
from tests.personas import api_as

MISSING_ID = 987654321


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def scoped_detail_routes():
    """(model, route template) for every retrieve route of a TenantScopedModelViewSet."""
    found = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        cls = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None) or {}
        if cls and issubclass(cls, TenantScopedModelViewSet) and "retrieve" in actions.values():
            if "(?P<format>" in route or "<format>" in route:
                continue
            found[cls.model] = "/" + route.replace("^", "").replace("$", "")
    return sorted(found.items(), key=lambda kv: kv[0]._meta.label)


ROUTES = scoped_detail_routes()


def _url(route, pk):
    import re

    return re.sub(r"\(\?P<pk>[^)]*\)|<pk>", str(pk), route)


def test_api_routes_discovered():
    labels = {m._meta.label for m, _ in ROUTES}
    assert {"tenancy.TenantSetting", "scoping_app.Folder", "scoping_app.Document"} <= labels


@pytest.mark.django_db
@pytest.mark.parametrize("model,route", ROUTES, ids=[m._meta.label for m, _ in ROUTES])
def test_api_other_tenant_object_is_byte_identical_404(model, route, world, alpha_owner):
    row_a, row_b = world.rows[model]
    client = api_as(alpha_owner)
    assert client.get(_url(route, row_a.pk)).status_code == 200  # positive control
    for method in ("get", "put", "patch", "delete"):
        foreign = getattr(client, method)(_url(route, row_b.pk), {}, format="json")
        missing = getattr(client, method)(_url(route, MISSING_ID), {}, format="json")
        assert foreign.status_code == 404, (method, foreign.content)
        assert foreign.content == missing.content, method
        assert foreign.headers.get("Content-Type") == missing.headers.get("Content-Type")
    malformed = client.get(_url(route, "not-a-number"))
    assert malformed.status_code == 404 and malformed.content == foreign.content
    with tenant_context(world.tenant_beta):
        assert model.objects.filter(pk=row_b.pk).exists()  # nothing B had was touched


ADMIN_MODELS = sorted(
    (m for m in admin.site._registry if is_tenant_scoped(m)), key=lambda m: m._meta.label
)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ADMIN_MODELS, ids=[m._meta.label for m in ADMIN_MODELS])
def test_admin_refuses_other_tenant_object(model, world, alpha_owner, client):
    row_a, row_b = world.rows[model]
    client.force_login(alpha_owner)
    info = (model._meta.app_label, model._meta.model_name)
    change = f"admin:{info[0]}_{info[1]}_change"
    delete = f"admin:{info[0]}_{info[1]}_delete"
    assert client.get(reverse(change, args=[row_a.pk])).status_code == 200  # control
    for name in (change, delete):
        foreign = client.get(reverse(name, args=[row_b.pk]))
        missing = client.get(reverse(name, args=[MISSING_ID]))
        # A foreign id answers exactly like a missing one: a redirect, or a 403 where
        # the admin is read-only (the audit log: nobody may delete, so no lookup at all).
        assert foreign.status_code in (302, 403)
        assert foreign.status_code == missing.status_code
        assert foreign.get("Location") == missing.get("Location")
    response = client.post(reverse(delete, args=[row_b.pk]), {"post": "yes"})
    assert response.status_code in (302, 403)
    listing = client.get(reverse(f"admin:{info[0]}_{info[1]}_changelist"))
    assert listing.status_code == 200
    shown = {obj.pk for obj in listing.context["cl"].result_list}
    assert row_a.pk in shown and row_b.pk not in shown
    with tenant_context(world.tenant_beta):
        assert model.objects.filter(pk=row_b.pk).exists()
