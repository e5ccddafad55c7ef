"""The audit log's cards on the operations home: security events of the last 24 hours
by severity, and the log's entries, pending entries and last signed head. Alpha and beta
hold the same kinds of data in different amounts; each tenant's staff see theirs, the
operator's "all tenants" the sum."""

import datetime as dt

import pytest
from django.utils import timezone

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr.models import AuditLogHead, SecurityEvent, SignedTreeHead
from tenancy.context import tenant_context
from tenancy.models import Membership, Role
from tests.console_home import home_cards, rows, tones

pytestmark = pytest.mark.django_db

# (severity, hours ago, how many): the 30-hour-old ones are outside the card's window.
EVENTS = {
    "alpha": [("critical", 1, 1), ("medium", 2, 2), ("low", 30, 4)],
    "beta": [("high", 1, 3), ("medium", 5, 1), ("critical", 30, 2)],
}


@pytest.fixture
def events_in_both(tenant_alpha, tenant_beta):
    now = timezone.now()
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            for severity, hours, count in EVENTS[tenant.slug]:
                for _ in range(count):
                    SecurityEvent.objects.create(
                        type="brute_force",
                        severity=severity,
                        source="192.0.2.1",
                        created_at=now - dt.timedelta(hours=hours),
                    )


def test_security_events_card_of_a_tenant(client, events_in_both, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["security_events"]
    assert card.value == 3
    assert rows(card) == {"Critical": 1, "High": 0, "Medium": 2, "Low": 0}
    assert tones(card) == {"Critical": "danger", "High": "", "Medium": "", "Low": ""}
    links = {str(r.label): r.link for r in card.rows}
    assert links["Critical"] == "/admin/audit_mgr/securityevent/?severity__exact=critical"


def test_security_events_card_for_the_operator_sums_every_tenant(
    client, events_in_both, superuser, alpha_owner
):
    client.force_login(superuser)
    card = home_cards(client)["security_events"]
    assert card.value == 7
    assert rows(card) == {"Critical": 1, "High": 3, "Medium": 3, "Low": 0}
    assert tones(card)["High"] == "warning"
    assert rows(home_cards(client, tenant="beta")["security_events"])["Critical"] == 0


def test_security_events_card_with_nothing_to_count_says_what_fills_it(
    client, tenant_alpha, alpha_owner
):
    client.force_login(alpha_owner)
    card = home_cards(client)["security_events"]
    assert card.empty.startswith("No security event in the last 24 hours.") and not card.rows


def _fill(tenant, entries: int, pending: int, sign: bool) -> None:
    with tenant_context(tenant):
        for i in range(entries):
            audit_actions.record_event("console.test", {"i": i})
        audit.sequence_pending(audit.tenant_log(tenant.pk))
        if sign:
            audit_actions.sign_tree_head()
        for i in range(pending):  # waits for the sequencer (nothing commits in a test)
            audit_actions.record_event("console.pending", {"i": i})


def _state(tenant) -> dict:
    with tenant_context(tenant):
        head = SignedTreeHead.objects.order_by("-tree_size").first()
        return {
            "entries": AuditLogHead.objects.get().size,
            "pending": audit.tenant_log(tenant.pk).pending().count(),
            "signed": head.tree_size if head else 0,
        }


@pytest.fixture
def logs_in_both(tenant_alpha, tenant_beta):
    """Alpha's log signed, beta's bigger and never signed. `states()` reads them (after
    the sign-in, which is itself an audited event)."""
    _fill(tenant_alpha, entries=2, pending=1, sign=True)
    _fill(tenant_beta, entries=5, pending=3, sign=False)
    return lambda: (_state(tenant_alpha), _state(tenant_beta))


def test_audit_log_card_of_a_tenant(client, logs_in_both, alpha_owner):
    client.force_login(alpha_owner)
    alpha, beta = logs_in_both()
    assert alpha != beta
    card = home_cards(client)["audit_log"]
    assert card.value == alpha["entries"]
    shown = rows(card)
    assert shown["Entries"] == alpha["entries"]
    assert shown["Pending"].startswith(f"{alpha['pending']}, oldest ")
    assert shown["Last signed head"] == "under a minute ago"
    assert shown["Entries after the last signed head"] == alpha["entries"] - alpha["signed"]


def test_audit_log_card_of_a_log_never_signed(client, logs_in_both, beta_owner):
    client.force_login(beta_owner)
    _alpha, beta = logs_in_both()
    shown = rows(home_cards(client)["audit_log"])
    assert shown["Last signed head"] == "never"
    assert shown["Entries after the last signed head"] == beta["entries"]
    assert tones(home_cards(client)["audit_log"])["Last signed head"] == "warning"


def test_audit_log_card_for_the_operator_sums_every_log(client, logs_in_both, superuser):
    client.force_login(superuser)
    alpha, beta = logs_in_both()
    card = home_cards(client)["audit_log"]
    assert card.value == alpha["entries"] + beta["entries"]
    shown = rows(card)
    assert shown["Pending"].startswith(f"{alpha['pending'] + beta['pending']}, oldest ")
    assert shown["Stalest signed head"] == "beta: never"  # beta's log was never signed
    assert shown["Entries after the last signed head"] == (
        alpha["entries"] - alpha["signed"] + beta["entries"]
    )


def test_audit_cards_are_for_the_admin_role(client, logs_in_both, tenant_alpha, alpha_admin):
    client.force_login(alpha_admin)
    assert {"audit_log", "security_events"} <= set(home_cards(client))
    with tenant_context(tenant_alpha):
        membership = Membership.objects.get(user=alpha_admin)
        membership.role = Role.MEMBER
        membership.save()
    cards = home_cards(client)
    assert not {"audit_log", "security_events"} & set(cards) and "sessions" in cards
