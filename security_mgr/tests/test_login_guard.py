"""Threat detection wired into the real entry points: the console's login form, DRF's
Basic authentication and the session token authentication."""

import base64

import pytest
from django.test import Client
from rest_framework.test import APIClient

from security_mgr.models import EventType, SecurityEvent
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


def test_console_login_backs_off_the_source_before_checking_the_password(owner_a, tenant_a):
    with tenant_context(tenant_a):
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
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner_a.pk)
    with tenant_context(tenant_a):
        event = SecurityEvent.objects.get(type=EventType.BRUTE_FORCE)
    assert (event.actor, event.source, event.action) == ("alice", ATTACKER, "temporary_block")
    # Every failure against a real account is in its tenant's audit log; so is the sign-in.
    assert len(entries(tenant_a, "auth.login_failed")) == 6
    assert [e.actor for e in entries(tenant_a, "auth.login")] == ["alice"]


def test_api_basic_auth_answers_429_with_retry_after(owner_a, tenant_a):
    with tenant_context(tenant_a):
        TenantSetting.objects.create(
            key="security.threat_policy", value={"base_backoff_seconds": 60}
        )
    for _ in range(6):
        assert basic("alice", "wrong", tenant=tenant_a).status_code == 401
    response = basic("alice", PASSWORD, tenant=tenant_a)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "throttled"
    assert basic("alice", PASSWORD, ip=OTHER, tenant=tenant_a).status_code == 200


def test_tenant_policy_blocks_only_in_its_own_scope(owner_a, owner_b, tenant_a):
    with tenant_context(tenant_a):
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


def test_forged_tokens_burst_is_recorded_and_answered_429(owner_a, tenant_a):
    genuine = tokens.mint(
        tenant_id=tenant_a.pk,
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
    with tenant_context(tenant_a):
        events = list(SecurityEvent.objects.filter(type=EventType.FORGED_TOKENS))
    # Recorded when the threshold is crossed and when the excess doubles (11th, 12th).
    assert [(e.source, e.action) for e in events] == [(ATTACKER, "temporary_block")] * 2


def test_logout_is_audited_in_the_users_tenants(shared_user, tenant_a, tenant_b):
    client, response = console_login("sam", PASSWORD, ip=OTHER)
    assert response.status_code == 302
    client.post("/admin/logout/")
    for tenant in (tenant_a, tenant_b):
        assert [e.actor for e in entries(tenant, "auth.logout")] == ["sam"]


def test_cross_tenant_probing_is_detected_and_revokes_sessions(
    owner_a, shared_user, tenant_a, tenant_b
):
    from sessions_mgr.actions import do_create_session
    from sessions_mgr.models import Session
    from tests.personas import api_as

    with tenant_context(tenant_b):
        foreign = [TenantSetting.objects.create(key=f"probe.{i}", value=i).pk for i in range(8)]
    with tenant_context(tenant_a):
        session, _token = do_create_session(tenant_id=tenant_a.pk, user_id=owner_a.pk)
    client = api_as(owner_a, tenant_a)
    missing = max(foreign) + 1000
    bodies = {client.get(f"/api/v1/settings/{missing + i}/").content for i in range(5)}
    bodies |= {client.get(f"/api/v1/settings/{pk}/").content for pk in foreign}
    assert len(bodies) == 1  # every 404 alike, whoever owns the id
    with tenant_context(tenant_a):
        events = SecurityEvent.objects.filter(type=EventType.CROSS_TENANT_PROBE)
        # 8 ids of beta, threshold 5: recorded at the crossing and when the excess doubles.
        assert [(e.actor, e.action) for e in events] == [("alice", "revoke_sessions")] * 2
        assert Session.objects.get(pk=session.pk).revoke_reason == "cross_tenant_probe"
    # Each check past the prefilter used the escape hatch, and the hatch is audited.
    assert len(audit_entries(None, "platform.access")) >= 6


def test_random_404s_are_not_a_probe(owner_a, tenant_a):
    from tests.personas import api_as

    client = api_as(owner_a, tenant_a)
    for i in range(15):
        assert client.get(f"/api/v1/settings/{10**9 + i}/").status_code == 404
    with tenant_context(tenant_a):
        assert not SecurityEvent.objects.filter(type=EventType.CROSS_TENANT_PROBE).exists()
