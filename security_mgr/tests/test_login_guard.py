"""Threat detection wired into the real entry points: the console's login form, DRF's
Basic authentication and the session token authentication."""

import base64

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit_mgr.models import EventType, SecurityEvent
from sessions_mgr import tokens
from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.personas import PASSWORD, audit_entries

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
ATTACKER, OTHER = "203.0.113.9", "198.51.100.7"


def console_login(username, password, ip=ATTACKER):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client, response


def basic(username, password, ip=ATTACKER, tenant=None):
    client = APIClient(REMOTE_ADDR=ip)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"HTTP_AUTHORIZATION": f"Basic {token}"}
    if tenant is not None:
        headers["HTTP_X_TENANT"] = tenant.slug
    return client.get("/api/v1/settings/", **headers)


@pytest.fixture(autouse=True)
def slow_back_off(settings):
    """Back-off of a minute everywhere: the tests must not race a one-second block."""
    settings.SECURITY_THREAT_POLICY = {"base_backoff_seconds": 60}


def entries(tenant, event):
    return audit_entries(tenant, event)


def entries_of(tenant):
    return audit_entries(tenant)


def test_console_login_backs_off_the_source_before_checking_the_password(alpha_owner, tenant_alpha):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(
            key="security.threat_policy", value={"base_backoff_seconds": 60}
        )
    for _ in range(5):
        _client, response = console_login("alice", "wrong")
        assert response.status_code == 200 and b"correct username" in response.content
    # The threshold is crossed: even the right password is refused from this source,
    # with a message saying when to retry.
    _client, response = console_login("alice", "wrong")
    _client, response = console_login("alice", PASSWORD)
    assert response.status_code == 200
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in _client.session
    # Another source is not affected: nobody can lock alice out by guessing.
    client, response = console_login("alice", PASSWORD, ip=OTHER)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alpha_owner.pk)
    with tenant_context(tenant_alpha):
        event = SecurityEvent.objects.get(type=EventType.BRUTE_FORCE)
    assert (event.actor, event.source, event.action) == ("alice", ATTACKER, "temporary_block")
    # Every failure against a real account is in its tenant's audit log; so is the sign-in.
    assert len(entries(tenant_alpha, "auth.login_failed")) == 6
    assert [e.actor for e in entries(tenant_alpha, "auth.login")] == ["alice"]


def test_api_basic_auth_answers_429_with_retry_after(alpha_owner, tenant_alpha):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(
            key="security.threat_policy", value={"base_backoff_seconds": 60}
        )
    for _ in range(6):
        assert basic("alice", "wrong", tenant=tenant_alpha).status_code == 401
    response = basic("alice", PASSWORD, tenant=tenant_alpha)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "throttled"
    assert basic("alice", PASSWORD, ip=OTHER, tenant=tenant_alpha).status_code == 200


def test_tenant_policy_blocks_only_in_its_own_scope(alpha_owner, beta_owner, tenant_alpha):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(
            key="security.threat_policy",
            value={"user_ip_threshold": 2, "base_backoff_seconds": 60},
        )
    for _ in range(3):
        basic("alice", "wrong")
    assert basic("alice", PASSWORD).status_code == 429  # alpha's strict policy
    # bob (beta) from the same source: beta's policy, beta's counters, platform counters
    # below the platform thresholds.
    assert basic("bob", PASSWORD).status_code == 200


def test_stuffing_with_unknown_names_is_caught_in_the_platform_scope(db):
    # The eighth distinct name from one source is stuffing (default policy): blocked.
    statuses = [basic(f"nobody{i}", "guess").status_code for i in range(9)]
    assert statuses == [401] * 8 + [429]
    events = audit_entries(None, "security.credential_stuffing")
    assert events and '"source":"203.0.113.9"' in events[0].data
    # Unknown names leave no per-failure entries anywhere.
    assert not audit_entries(None, "auth.login_failed")


def test_forged_tokens_burst_is_recorded_and_answered_429(alpha_owner, tenant_alpha):
    genuine = tokens.mint(
        tenant_id=tenant_alpha.pk,
        session_id="5e" * 16,
        generation=1,
        key_version=1,
        level="standard",
        issued_at=1,
        expires_at=9_999_999_999,
    )
    forged = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")  # MAC tampered
    statuses = []
    for _ in range(12):
        response = APIClient(REMOTE_ADDR=ATTACKER).get(
            "/api/v1/settings/", HTTP_AUTHORIZATION=f"Bearer {forged}"
        )
        statuses.append(response.status_code)
    assert statuses[0] == 401 and statuses[-1] == 429
    with tenant_context(tenant_alpha):
        events = list(SecurityEvent.objects.filter(type=EventType.FORGED_TOKENS))
    # Recorded when the threshold is crossed and when the excess doubles (11th, 12th);
    # only the source's token attempts are slowed down (no sign-in is blocked).
    assert [(e.source, e.action) for e in events] == [(ATTACKER, "slow_tokens")] * 2


def test_logout_is_audited_in_the_users_tenants(member_of_both, tenant_alpha, tenant_beta):
    client, response = console_login("sam", PASSWORD, ip=OTHER)
    assert response.status_code == 302
    client.post("/admin/logout/")
    for tenant in (tenant_alpha, tenant_beta):
        assert [e.actor for e in entries(tenant, "auth.logout")] == ["sam"]


def prober(user, tenant, ip=ATTACKER):
    from tests.personas import api_as

    client = api_as(user, tenant)
    client.defaults["REMOTE_ADDR"] = ip
    return client


def _probe_policy(tenant, **policy):
    with tenant_context(tenant):
        TenantSetting.objects.update_or_create(
            key="security.threat_policy",
            defaults={"value": {"base_backoff_seconds": 60, "probe_threshold": 5, **policy}},
        )


def test_probing_with_random_ids_revokes_the_users_sessions_in_the_tenant(
    alpha_owner, tenant_alpha, tenant_beta
):
    """404s count by source: random ids alone cross the threshold (no other tenant's id
    is needed), and the user's sessions in this tenant end with reason `probing`."""
    from sessions_mgr.actions import do_create_session
    from sessions_mgr.models import Session

    _probe_policy(tenant_alpha)
    with tenant_context(tenant_alpha):
        session, _token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    client = prober(alpha_owner, tenant_alpha)
    for i in range(5):  # up to the threshold: nothing happens
        assert client.get(f"/api/v1/settings/{10**9 + i}/").status_code == 404
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=session.pk).revoked_at is None
    assert client.get(f"/api/v1/settings/{10**9 + 5}/").status_code == 404
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=session.pk).revoke_reason == "probing"
    # The detector never asked whether an id exists elsewhere: no escape hatch used.
    assert audit_entries(None, "platform.access") == []


def test_probing_events_are_for_platform_operators_only(alpha_owner, tenant_alpha, tenant_beta):
    """The event lands in the platform audit log, naming the tenant, user and source; the
    tenant's SecurityEvents, its audit log, the events API and the dashboard show none."""
    _probe_policy(tenant_alpha)
    client = prober(alpha_owner, tenant_alpha)
    for i in range(8):
        assert client.get(f"/api/v1/settings/{10**9 + i}/").status_code == 404
    entries = audit_entries(None, "security.cross_tenant_probe")
    # Crossed at the 6th 404 and when the excess doubled (7th): two entries.
    assert [e.actor for e in entries] == ["alice", "alice"]
    assert all(f'"tenant":"{tenant_alpha.slug}"' in e.data and ATTACKER in e.data for e in entries)
    with tenant_context(tenant_alpha):
        assert not SecurityEvent.objects.exists()
    assert [e.event for e in entries_of(tenant_alpha) if "probe" in e.event] == []
    events = client.get("/api/v1/security/events/")
    assert events.status_code == 200 and events.json()["count"] == 0
    dashboard = Client(REMOTE_ADDR=OTHER)
    dashboard.force_login(alpha_owner)
    page = dashboard.get("/console/security/", HTTP_X_TENANT=tenant_alpha.slug)
    assert page.status_code == 200
    assert b"cross_tenant_probe" not in page.content and ATTACKER.encode() not in page.content


def test_probing_reaction_follows_the_tenants_probe_action(alpha_owner, tenant_alpha):
    from sessions_mgr.actions import do_create_session
    from sessions_mgr.models import Session

    _probe_policy(tenant_alpha, probe_action="step_up")
    with tenant_context(tenant_alpha):
        session, _token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    client = prober(alpha_owner, tenant_alpha)
    for i in range(6):
        client.get(f"/api/v1/settings/{10**9 + i}/")
    with tenant_context(tenant_alpha):
        row = Session.objects.get(pk=session.pk)
        assert row.step_up_required and row.revoked_at is None
    _probe_policy(tenant_alpha, probe_action="record")
    from security_mgr import threats

    threats.forget_policies()
    with tenant_context(tenant_alpha):
        session2, _token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    for i in range(6):
        client.get(f"/api/v1/settings/{10**9 + i}/")
    with tenant_context(tenant_alpha):
        row = Session.objects.get(pk=session2.pk)
        assert not row.step_up_required and row.revoked_at is None
    assert audit_entries(None, "security.cross_tenant_probe")  # recorded all the same


def test_probing_counts_per_user_and_source(alpha_owner, member_of_both, tenant_alpha):
    """Another user, or the same user from another address, has its own count."""
    from sessions_mgr.actions import do_create_session
    from sessions_mgr.models import Session

    _probe_policy(tenant_alpha)
    with tenant_context(tenant_alpha):
        session, _token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    alice, sam = prober(alpha_owner, tenant_alpha), prober(member_of_both, tenant_alpha)
    alice_elsewhere = prober(alpha_owner, tenant_alpha, ip=OTHER)
    for i in range(5):
        for client in (alice, sam, alice_elsewhere):
            assert client.get(f"/api/v1/settings/{10**9 + i}/").status_code == 404
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=session.pk).revoked_at is None
    assert audit_entries(None, "security.cross_tenant_probe") == []
