"""The console shell: the sidebar built from the registry, the header's tenant switcher
and log-out, the favicon, and a search that answers within the current tenant."""

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.urls import reverse

from tenancy import console_registry as registry
from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.authenticator import Enrolment

pytestmark = pytest.mark.django_db


def _sidebar(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200
    return {
        g["title"]: [i["title"] for i in g["items"]] for g in response.context["sidebar_navigation"]
    }


def test_sidebar_owner_sees_every_manager_section_of_their_tenant(client, alpha_owner):
    client.force_login(alpha_owner)
    sidebar = _sidebar(client)
    for section in ("Overview", "Tenants", "Sessions", "Security", "Audit", "Jobs"):
        assert section in sidebar, sidebar
    assert "Security dashboard" in sidebar["Security"]
    assert "Key rings" in sidebar["Security"]
    assert "Onboard a tenant" not in sidebar["Tenants"]  # operators only
    assert "Periodic tasks" not in sum(sidebar.values(), [])  # platform schedules


def test_sidebar_operator_sees_platform_section(client, superuser):
    client.force_login(superuser)
    sidebar = _sidebar(client)
    assert "Onboard a tenant" in sidebar["Tenants"]
    assert {"Users", "Periodic tasks"} <= set(sidebar["Platform"])


def test_account_menu_links_password_change_and_api_docs(client, alpha_owner):
    client.force_login(alpha_owner)
    page = client.get("/").content.decode()
    assert reverse("admin:password_change") in page and reverse("api-docs") in page


def test_sidebar_unclaimed_admin_model_lands_under_other(client, superuser):
    claimed = registry.claimed_models()
    unclaimed = [m for m in admin.site._registry if m not in claimed]
    assert unclaimed, "the test settings register an admin model no section claims"
    client.force_login(superuser)
    response = client.get("/")
    groups = {g["title"]: g["items"] for g in response.context["sidebar_navigation"]}
    other_links = {i["link"] for i in groups["Other"]}
    for model in unclaimed:
        opts = model._meta
        assert reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") in other_links


def test_register_item_unknown_section_names_the_fix():
    with pytest.raises(registry.UnknownSection, match=r"register_section\('nope'"):
        registry.register_item("nope", registry.NavItem("x", "/x/"))


def test_header_switcher_shown_to_user_of_several_tenants_only(client, alpha_owner, member_of_both):
    client.force_login(alpha_owner)
    assert 'id="tenant-select"' not in client.get("/").content.decode()
    client.force_login(member_of_both)
    page = client.get("/").content.decode()
    assert 'id="tenant-select"' in page and "X-Tenant header" not in page


def test_switch_tenant_unknown_tenant_answers_400_on_a_console_page(client, member_of_both):
    client.force_login(member_of_both)
    response = client.post(reverse("console-switch-tenant"), {"tenant": "no-such-tenant"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="switch-error"' in page and 'id="header-logout"' in page


def test_switch_tenant_returns_to_the_page_it_came_from_but_never_off_site(
    client, member_of_both, tenant_beta
):
    client.force_login(member_of_both)
    back = client.post(reverse("console-switch-tenant"), {"tenant": "beta", "next": "/admin/"})
    assert back.status_code == 302 and back["Location"] == "/admin/"
    away = client.post(
        reverse("console-switch-tenant"), {"tenant": "alpha", "next": "https://evil.example/"}
    )
    assert away.status_code == 302 and away["Location"] == reverse("console-home")


@pytest.mark.parametrize("path", ["/", "/console/passkeys/", "/console/security/", "/admin/"])
def test_console_pages_carry_favicon_name_and_log_out(client, alpha_owner, path):
    client.force_login(alpha_owner)
    page = client.get(path).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    assert "Data Isolation Managers" in page and "Django administration" not in page
    assert 'id="header-logout"' in page
    assert page.count("<main") == 1  # one main landmark around the page's content


def test_favicon_ico_redirects_to_the_shipped_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")
    assert finders.find("console/favicon.svg")


def test_mfa_step_page_has_log_out_and_no_sidebar(client, alpha_owner, tenant_alpha):
    Enrolment(alpha_owner, tenant_alpha)
    client.force_login(alpha_owner)
    response = client.get(reverse("console-mfa"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="header-logout"' in page and 'id="nav-sidebar"' not in page
    assert "Second factor" in page


def test_search_answers_within_the_current_tenant_even_when_cached(
    client, member_of_both, tenant_alpha, tenant_beta
):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(key="codename.falcon", value=1)
    with tenant_context(tenant_beta):
        TenantSetting.objects.create(key="codename.osprey", value=2)
    client.force_login(member_of_both)
    url = reverse("admin:search") + "?s=codename&extended=1"
    in_alpha = client.get(url, HTTP_X_TENANT="alpha").content.decode()
    assert "falcon" in in_alpha and "osprey" not in in_alpha  # positive control
    in_beta = client.get(url, HTTP_X_TENANT="beta").content.decode()
    assert "osprey" in in_beta and "falcon" not in in_beta
