"""The key rings card of the operations home: the tenant ring's current version, the
versions it holds and the age of its current key; for the operator's "all tenants",
one row per tenant, the oldest current keys first."""

import datetime as dt

import pytest
from django.utils import timezone

from security_mgr import actions
from security_mgr.models import DataKey, KeyRing
from tenancy.context import tenant_context
from tests.console_home import home_cards, rows, tones

pytestmark = pytest.mark.django_db


def _age(tenant, version: int, days: float) -> None:
    with tenant_context(tenant):
        DataKey.objects.filter(ring__subject="", version=version).update(
            created_at=timezone.now() - dt.timedelta(days=days)
        )


@pytest.fixture
def rings_in_both(tenant_alpha, tenant_beta):
    """Alpha at version 2, its current key 10 days old, rotated every 7 days (overdue);
    beta at version 4 with a key of 3 days and a subject ring (not a tenant ring)."""
    with tenant_context(tenant_alpha):
        actions.rotate_key(reason="console test")
        actions.set_rotation_period(7)
    with tenant_context(tenant_beta):
        for _ in range(3):
            actions.rotate_key(reason="console test")
        actions.do_create_key_ring(tenant_beta, subject="user:1")
    _age(tenant_alpha, 2, 10)
    _age(tenant_beta, 4, 3)


def test_key_card_of_a_tenant(client, rings_in_both, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["key_rings"]
    assert card.value == "v2"
    assert rows(card) == {
        "Versions held": 2,
        "Age of the current key": "1 week",
        "Rotation period": "7 days",
    }
    assert tones(card)["Age of the current key"] == "warning"  # 10 days > 7
    assert card.link == "/admin/security_mgr/keyring/"


def test_key_card_of_the_other_tenant(client, rings_in_both, beta_owner):
    client.force_login(beta_owner)
    card = home_cards(client)["key_rings"]
    assert card.value == "v4"
    assert rows(card)["Versions held"] == 4 and rows(card)["Age of the current key"] == "3 days"
    assert rows(card)["Rotation period"] == "none (rotated on request)"
    assert tones(card)["Age of the current key"] == ""


def test_key_card_for_the_operator_lists_every_tenant_ring(
    client, rings_in_both, superuser, tenant_beta
):
    client.force_login(superuser)
    card = home_cards(client)["key_rings"]
    assert card.value == 2  # tenant rings; beta's subject ring is not one
    assert rows(card) == {
        "alpha": "v2 · 2 versions · 1 week old",
        "beta": "v4 · 4 versions · 3 days old",
    }
    assert [str(r.label) for r in card.rows] == ["alpha", "beta"]  # the oldest key first
    assert tones(card) == {"alpha": "warning", "beta": ""}
    with tenant_context(tenant_beta):
        ring = KeyRing.objects.get(subject="")
    assert card.rows[1].link == f"/admin/security_mgr/keyring/{ring.pk}/change/"
    assert home_cards(client, tenant="beta")["key_rings"].value == "v4"


def test_key_card_before_any_tenant_says_what_fills_it(client, superuser):
    client.force_login(superuser)
    card = home_cards(client)["key_rings"]
    assert card.empty.startswith("No key ring yet.") and card.rows == ()
