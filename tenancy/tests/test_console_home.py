"""The operations home for each persona: which tenant (or all tenants) it shows, which
KPI cards (the managers' providers, tenancy.console_registry) and the tenant table in
human names. The cards' own figures are tested in each manager's test_console_cards."""

import re

import pytest
from django.urls import reverse

from tenancy import console_registry as registry
from tenancy.console_cards import ago, duration

pytestmark = pytest.mark.django_db

EVERY_CARD = {
    "sessions",
    "security_events",
    "audit_log",
    "key_rings",
    "jobs",
    "performance",
    "metadata",
    "alerts",
}
# A tenant's own quota usage (lifecycle_mgr's tier): shown for one tenant, not across all.
TENANT_CARDS = EVERY_CARD | {"quotas"}


def _page(client, **params):
    response = client.get("/", params)
    assert response.status_code == 200
    return response, response.content.decode()


def _drawn_cards(page: str) -> list[str]:
    return re.findall(r'data-card="([a-z_]+)"', page)


def test_home_of_an_owner_shows_every_card_of_the_tenant(client, alpha_owner, tenant_beta):
    client.force_login(alpha_owner)
    response, page = _page(client)
    assert {c.key for c in response.context["cards"]} == TENANT_CARDS
    assert set(_drawn_cards(page)) == TENANT_CARDS
    assert response.context["card_scope"] == "tenant"
    assert "Showing tenant Alpha Ltd (alpha)." in page
    assert "beta" not in page and "Beta GmbH" not in page
    # The shell draws the page title as the one h1; the page's own headings are h2, h3.
    assert page.count("<h1") == 1 and "<h2" in page and "<h3" in page


def test_home_of_a_viewer_shows_only_what_the_role_may_open(
    client, alpha_viewer, overlapping_settings
):
    client.force_login(alpha_viewer)  # not staff: the admin's lists are closed to them
    response, page = _page(client)
    # The Jobs page and the tenant's quotas are every member's; sessions, metadata and
    # firing alerts need staff, the rest the admin role.
    assert [c.key for c in response.context["cards"]] == ["quotas", "jobs"]
    assert _drawn_cards(page) == ["quotas", "jobs"]
    assert [r["tenant"].slug for r in response.context["overview"]] == ["alpha"]
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    response, _html = _page(client)
    assert [c.key for c in response.context["cards"]] == [
        "quotas", "sessions", "metadata", "alerts", "jobs"
    ]  # fmt: skip


def test_home_without_a_card_for_the_user_says_why(client, alpha_viewer):
    registry_cards = dict(registry._cards)
    registry._cards.clear()  # as if no manager offered a card this user may open
    try:
        client.force_login(alpha_viewer)
        response, page = _page(client)
    finally:
        registry._cards.update(registry_cards)
    assert response.context["cards"] == [] and 'id="kpi-cards-none"' in page


def test_home_of_the_operator_covers_all_tenants_or_the_chosen_one(
    client, superuser, alpha_owner, tenant_beta
):
    client.force_login(superuser)
    response, page = _page(client)
    assert response.context["card_scope"] == "all"
    assert {c.key for c in response.context["cards"]} == EVERY_CARD
    assert "Showing all tenants (2 tenants)" in page
    assert {r["tenant"].slug for r in response.context["overview"]} == {"alpha", "beta"}
    one, page = _page(client, tenant="beta")
    assert one.context["card_scope"] == "tenant" and "Showing tenant Beta GmbH (beta)." in page
    assert [r["tenant"].slug for r in one.context["overview"]] == ["beta"]


def test_home_of_a_user_of_two_tenants_before_and_after_choosing(
    client, member_of_both, tenant_beta
):
    client.force_login(member_of_both)
    response, page = _page(client)
    assert response.context["tenant_error"].code == "tenant_required"
    assert response.context["cards"] == [] and _drawn_cards(page) == []
    assert response.context["card_scope"] == "none"
    assert "choose one in the tenant switcher" in page and 'id="kpi-cards' not in page
    client.post(reverse("console-switch-tenant"), {"tenant": "beta"})
    response, page = _page(client)
    assert response.context["card_scope"] == "tenant"
    assert {c.key for c in response.context["cards"]} == TENANT_CARDS
    assert "Showing tenant Beta GmbH (beta)." in page
    assert [r["tenant"].slug for r in response.context["overview"]] == ["beta"]


def test_home_table_names_models_for_people(client, superuser, overlapping_settings):
    client.force_login(superuser)
    response, page = _page(client)
    rows = {r["tenant"].slug: r for r in response.context["overview"]}
    assert rows["alpha"]["rows"]["Tenant settings"] == 1
    assert "Tenant settings: 1" in page
    assert "tenancy.TenantSetting" not in page and "security_mgr.PendingAuditEntry" not in page
    assert all(n for _name, n in rows["alpha"]["counts"])  # zeros are left out
    assert '<th scope="col"' in page and '<th scope="row"' in page


def test_a_card_provider_registered_by_an_app_appears_on_the_home(client, alpha_owner):
    seen = []

    def provider(request, tenants):
        seen.append([t.slug for t in tenants])
        return registry.Card(
            "test_card", "Test card", 42, link="/admin/", rows=(registry.CardRow("Answers", 42),)
        )

    registry.register_card("test_card", provider, order=1)
    try:
        client.force_login(alpha_owner)
        response, page = _page(client)
    finally:
        registry._cards.pop("test_card")
    assert seen == [["alpha"]]
    assert "test_card" in [c.key for c in response.context["cards"]]
    assert 'data-card="test_card"' in page and "Answers" in page


def test_ages_and_durations_read_as_words():
    import datetime as dt

    now = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
    assert ago(None, now) == "never"
    assert ago(now - dt.timedelta(seconds=5), now) == "under a minute ago"
    assert ago(now - dt.timedelta(hours=3, minutes=5), now) == "3\xa0hours ago"
    assert duration(dt.timedelta(days=9)) == "1\xa0week"
