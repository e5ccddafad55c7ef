"""`tenant_cache_page`: a page is served again only to the same tenant and the same user;
pages with cookies or a CSRF token are never stored."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import RequestFactory

from cache_mgr.actions import do_invalidate_namespace
from cache_mgr.views import tenant_cache_page
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
calls = []


@tenant_cache_page(60)
def page(request):
    calls.append(request.user)
    who = request.user.get_username() if request.user.is_authenticated else "anonymous"
    return HttpResponse(f"page for {who}")


@tenant_cache_page(60)
def page_with_cookie(request):
    response = HttpResponse("cookie")
    response.set_cookie("x", "1")
    return response


@tenant_cache_page(60)
def page_with_csrf(request):
    return HttpResponse(f"token {get_token(request)}")


def _get(view, user=None, path="/report/"):
    request = RequestFactory().get(path)
    request.user = user or AnonymousUser()
    return view(request)


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()


def test_view_cache_serves_the_same_user_again(tenant_alpha, alpha_admin, coherent):
    with tenant_context(tenant_alpha):
        first = _get(page, alpha_admin)
        second = _get(page, alpha_admin)
    assert first["X-Cache"] == "miss" and second["X-Cache"] == "hit"
    assert second.content == first.content == f"page for {alpha_admin.username}".encode()
    assert len(calls) == 1
    assert "Cookie" in first["Vary"]


def test_view_cache_never_serves_a_page_to_another_user(
    tenant_alpha, alpha_admin, alpha_viewer, coherent
):
    with tenant_context(tenant_alpha):
        _get(page, alpha_admin)
        other = _get(page, alpha_viewer)
        anonymous = _get(page)
    assert other.content == f"page for {alpha_viewer.username}".encode()
    assert anonymous.content == b"page for anonymous"
    assert len(calls) == 3


def test_view_cache_never_serves_a_page_to_another_tenant(
    tenant_alpha, tenant_beta, member_of_both, coherent
):
    with tenant_context(tenant_alpha):
        _get(page, member_of_both)
    with tenant_context(tenant_beta):
        response = _get(page, member_of_both)
    assert response["X-Cache"] == "miss" and len(calls) == 2


def test_view_cache_skips_pages_with_cookies_or_csrf_tokens(tenant_alpha, coherent):
    with tenant_context(tenant_alpha):
        assert _get(page_with_cookie)["X-Cache"] == "miss"
        assert _get(page_with_cookie)["X-Cache"] == "miss"
        assert _get(page_with_csrf)["X-Cache"] == "miss"
        assert _get(page_with_csrf)["X-Cache"] == "miss"


def test_view_cache_invalidates_with_the_pages_namespace(tenant_alpha, coherent):
    with tenant_context(tenant_alpha):
        _get(page)
        do_invalidate_namespace("pages")
        assert _get(page)["X-Cache"] == "miss"
    assert len(calls) == 2


def test_view_cache_without_a_tenant_does_not_cache(coherent):
    response = _get(page)
    assert "X-Cache" not in response and len(calls) == 1
