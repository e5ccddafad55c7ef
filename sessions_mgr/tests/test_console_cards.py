"""The sessions card of the operations home: per tenant, summed for the operator's
"all tenants", and a sentence instead of zeros when there is nothing to count."""

import datetime as dt

import pytest
from django.utils import timezone

from sessions_mgr.models import Session
from tenancy.context import tenant_context
from tests.console_home import home_cards, rows

pytestmark = pytest.mark.django_db


def _session(user, *, created_hours_ago=0.0, lifetime_hours=8.0, revoked_hours_ago=None):
    now = timezone.now()
    created = now - dt.timedelta(hours=created_hours_ago)
    return Session.objects.create(
        user=user,
        created_at=created,
        last_seen_at=created,
        idle_expires_at=created + dt.timedelta(hours=1),
        absolute_expires_at=created + dt.timedelta(hours=lifetime_hours),
        revoked_at=None
        if revoked_hours_ago is None
        else now - dt.timedelta(hours=revoked_hours_ago),
    )


@pytest.fixture
def sessions_in_both(tenant_alpha, tenant_beta, alpha_owner, alpha_admin, beta_owner):
    """Alpha: 2 active (both users), 1 revoked an hour ago, 1 of two days ago (expired).
    Beta: 3 active, of which one from 30 hours ago (not a sign-in of the last 24 h)."""
    with tenant_context(tenant_alpha):
        _session(alpha_owner)
        _session(alpha_admin, created_hours_ago=2)
        _session(alpha_owner, created_hours_ago=3, revoked_hours_ago=1)
        _session(alpha_owner, created_hours_ago=48)
    with tenant_context(tenant_beta):
        _session(beta_owner)
        _session(beta_owner, created_hours_ago=1)
        _session(beta_owner, created_hours_ago=30, lifetime_hours=72)


def test_sessions_card_counts_the_tenant_only(client, sessions_in_both, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["sessions"]
    assert card.value == 2 and not card.empty
    assert rows(card) == {
        "Active now": 2,
        "Sign-ins, last 24 h": 3,
        "Users signed in, last 24 h": 2,
        "Revoked, last 24 h": 1,
    }
    assert card.link == "/admin/sessions_mgr/session/?state=active"


def test_sessions_card_of_the_other_tenant(client, sessions_in_both, beta_owner):
    client.force_login(beta_owner)
    card = home_cards(client)["sessions"]
    assert card.value == 3
    assert rows(card)["Sign-ins, last 24 h"] == 2 and rows(card)["Revoked, last 24 h"] == 0


def test_sessions_card_for_the_operator_sums_every_tenant(client, sessions_in_both, superuser):
    client.force_login(superuser)
    card = home_cards(client)["sessions"]
    assert card.value == 5
    assert rows(card)["Sign-ins, last 24 h"] == 5 and rows(card)["Users signed in, last 24 h"] == 3
    assert home_cards(client, tenant="beta")["sessions"].value == 3


def test_sessions_card_with_nothing_to_count_says_what_fills_it(client, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["sessions"]
    assert card.empty.startswith("No session in the last 24 hours.")
    assert "POST /api/v1/sessions/" in card.empty and card.rows == ()
    page = client.get("/").content.decode()
    assert "data-empty-state" in page and card.empty in page


def test_sessions_card_matches_the_active_filter_it_links_to(client, sessions_in_both, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["sessions"]
    listed = client.get(card.link).context["cl"].result_count
    assert listed == card.value
