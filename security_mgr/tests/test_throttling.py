"""Throttling that protects users instead of locking them out (issue 10, point 1/2):
separate budgets for bearer tokens, password sign-ins and MFA codes; a token flood
slows down token attempts from its source only; correct credentials are never refused
because of other people's failures; capped back-off without overflow; messages that
name what was throttled; a fail-safe local limit when the shared cache is down."""

import base64
import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit_mgr.models import EventType, SecurityEvent
from security_mgr import mfa, threats, throttle_store
from sessions_mgr import tokens
from sessions_mgr.actions import do_create_session
from tenancy.context import tenant_context
from tests.authenticator import Enrolment
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db
SHARED, OTHER = "203.0.113.50", "198.51.100.50"  # an office NAT shared with an attacker


@pytest.fixture(autouse=True)
def minute_back_off(settings):
    """A minute of back-off everywhere: no test races a one-second block."""
    settings.SECURITY_THREAT_POLICY = {"base_backoff_seconds": 60}


@pytest.fixture(autouse=True)
def _trusted_session_view():
    """The session view as a subscribed listener leaves it (emptied before each test)."""
    from sessions_mgr.fastpath import get_view

    get_view().healthy = True


def _tenant_policy(tenant, **policy):
    from tenancy.models import TenantSetting

    with tenant_context(tenant):
        TenantSetting.objects.update_or_create(
            key="security.threat_policy", defaults={"value": {"base_backoff_seconds": 60, **policy}}
        )
    threats.forget_policies()


def basic(username, password, ip=SHARED, tenant="alpha"):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return APIClient(REMOTE_ADDR=ip).get(
        "/api/v1/settings/", HTTP_AUTHORIZATION=f"Basic {token}", HTTP_X_TENANT=tenant
    )


def bearer(token, ip=SHARED, path="/api/v1/settings/"):
    return APIClient(REMOTE_ADDR=ip).get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def console_login(username, password, ip=SHARED):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}
    )
    return client, response


def unsigned_token(tenant_id: int, n: int) -> str:
    """Looks like a session token of the tenant; its MAC is made up."""
    genuine = tokens.mint(
        tenant_id=tenant_id, session_id=f"{n:032x}", generation=0, key_version=1,
        level="standard", issued_at=1, expires_at=9_999_999_999,
    )  # fmt: skip
    return genuine[:-43] + "A" * 42 + "Q"


def error(response):
    return response.json()["error"]


# --- back-off arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize("excess", [1_025, 5_000, 10**6, 10**12])
def test_backoff_huge_excess_is_capped_without_overflow(excess):
    policy = dict(threats.DEFAULT_POLICY)
    assert threats._backoff(excess, policy) == policy["max_backoff_seconds"]


def test_backoff_grows_then_caps():
    policy = dict(threats.DEFAULT_POLICY)
    assert [threats._backoff(n, policy) for n in (0, 1, 2, 3, 10, 11)] == [
        0.0, 1.0, 2.0, 4.0, 512.0, 900.0,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "configured",
    [
        {"max_backoff_seconds": 1e308, "base_backoff_seconds": 1e308},
        {"window_seconds": 10**30, "forged_token_threshold": 10**30},
        {"max_backoff_seconds": float("inf")},
        {"base_backoff_seconds": float("nan"), "ip_threshold": -3, "stuffing_users": "8"},
    ],
)
def test_policy_bad_or_huge_values_are_capped_or_ignored(configured, tenant_alpha):
    policy = threats._merged(configured)
    assert policy["max_backoff_seconds"] <= threats.POLICY_LIMITS["max_backoff_seconds"]
    assert policy["window_seconds"] <= threats.POLICY_LIMITS["window_seconds"]
    assert 1 <= policy["forged_token_threshold"] <= threats.MAX_THRESHOLD
    assert policy["ip_threshold"] == threats.DEFAULT_POLICY["ip_threshold"]
    import math

    stored = {k: v for k, v in configured.items() if not isinstance(v, float) or math.isfinite(v)}
    _tenant_policy(tenant_alpha, **stored)  # JSON has no infinities
    with tenant_context(tenant_alpha):
        for _ in range(3):
            threats.analyze_threat("token_invalid", ip="192.0.2.1")
            threats.analyze_threat("login", username="x", ip="192.0.2.1")


def test_flood_of_more_than_a_thousand_refused_tokens_never_overflows(tenant_alpha):
    """The issue's OverflowError: `2 ** (excess - 1)` past ~1,000 refusals."""
    with tenant_context(tenant_alpha):
        for _ in range(1_100):
            verdict = threats.analyze_threat("token_invalid", ip="192.0.2.77")
    assert not verdict.allowed and verdict.retry_after == 900.0
    assert verdict.throttled == threats.SOURCE_TOKENS


def test_flood_of_more_than_a_thousand_failed_sign_ins_never_overflows(tenant_alpha):
    with tenant_context(tenant_alpha):
        for _ in range(1_100):
            verdict = threats.analyze_threat("login", username="alice", ip="192.0.2.78")
        assert not verdict.allowed and verdict.retry_after == 900.0
        assert not threats.login_allowed("alice", "192.0.2.78").allowed


# --- a token flood touches token attempts from its source only ----------------------------


def test_unsigned_tokens_naming_a_tenant_do_not_lock_its_members_out(alpha_owner, tenant_alpha):
    """The issue: ~25 unsigned bearer tokens naming a tenant locked every member out of
    the API and the console for 15 minutes, blaming "failed sign-ins"."""
    _session, token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    statuses = [bearer(unsigned_token(tenant_alpha.pk, n)).status_code for n in range(25)]
    assert statuses[:10] == [401] * 10 and statuses[-1] == 429
    refused = bearer(unsigned_token(tenant_alpha.pk, 99))
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "refused session tokens" in error(refused)["message"]
    assert "sign-in" not in error(refused)["message"]
    # Members behind the same address: correct password (API and console) and a valid
    # token all work.
    assert basic("alice", PASSWORD).status_code == 200
    client, response = console_login("alice", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alpha_owner.pk)
    assert bearer(token).status_code == 200
    # A wrong password from there is an ordinary 401, not a 429: no sign-in budget spent.
    assert basic("alice", "wrong").status_code == 401


def test_token_flood_is_recorded_and_slows_only_its_source(alpha_owner, tenant_alpha):
    for n in range(12):
        bearer(unsigned_token(tenant_alpha.pk, n))
    with tenant_context(tenant_alpha):
        events = list(SecurityEvent.objects.filter(type=EventType.FORGED_TOKENS))
    assert [(e.source, e.action) for e in events] == [(SHARED, "slow_tokens")] * 2
    # Another source is not slowed down at all.
    assert bearer(unsigned_token(tenant_alpha.pk, 1), ip=OTHER).status_code == 401


def test_token_spray_across_tenants_is_counted_in_the_platform_scope(tenant_alpha, tenant_beta, db):
    """Spreading forged tokens over many claimed tenants does not dodge the budget."""
    statuses = []
    for n in range(12):
        tenant_id = (tenant_alpha.pk, tenant_beta.pk, 10**9 + n)[n % 3]
        statuses.append(bearer(unsigned_token(tenant_id, n)).status_code)
    assert statuses[:10] == [401] * 10 and statuses[-1] == 429


# --- password sign-ins: only your own failures refuse you ------------------------------------


def test_other_users_failures_from_my_address_never_refuse_my_correct_password(
    alpha_owner, alpha_viewer, tenant_alpha
):
    # bob-the-attacker shares alice's address: brute force on victor, then a spray over
    # many names (credential stuffing), far past every source threshold.
    for _ in range(30):
        basic("victor", "wrong")
    for n in range(12):
        basic(f"nobody{n}", "guess")
    # alice has no failures of her own: her correct password gets in, API and console.
    assert basic("alice", PASSWORD).status_code == 200
    _client, response = console_login("alice", PASSWORD)
    assert response.status_code == 302
    # victor, from this address, is refused for his own failures (user + source) ...
    refused = basic("victor", PASSWORD)
    assert refused.status_code == 429
    assert "for this account from your address" in error(refused)["message"]
    # ... and nowhere else.
    assert basic("victor", PASSWORD, ip=OTHER).status_code == 200


def test_failures_from_a_source_over_budget_answer_429_naming_the_source(alpha_owner, tenant_alpha):
    for n in range(9):  # stuffing: the 8th distinct name crosses the threshold
        basic(f"nobody{n}", "guess")
    slowed = basic("nobody-else", "guess")
    assert slowed.status_code == 429 and int(slowed["Retry-After"]) >= 1
    assert "failed sign-ins from your address" in error(slowed)["message"]
    assert basic("alice", PASSWORD).status_code == 200  # the right password still works
    _client, page = console_login("nobody-else", "guess")
    assert b"failed sign-ins from your address (several accounts)" in page.content
    _client, page = console_login("alice", PASSWORD)
    assert page.status_code == 302
    with tenant_context(tenant_alpha):
        verdict = threats.login_allowed("alice", SHARED)
    assert verdict.allowed


def test_threats_login_allowed_refuses_only_the_users_own_source(tenant_alpha):
    with tenant_context(tenant_alpha):
        for n in range(25):
            threats.analyze_threat("login", username=f"user{n % 9}", ip="192.0.2.5")
        assert threats.login_allowed("alice", "192.0.2.5").allowed
        for _ in range(6):
            threats.analyze_threat("login", username="alice", ip="192.0.2.6")
        own = threats.login_allowed("alice", "192.0.2.6")
        assert not own.allowed and own.throttled == threats.ACCOUNT_FROM_SOURCE
        assert "for this account" in own.message
        assert threats.login_allowed("alice", "192.0.2.7").allowed


# --- MFA codes have their own budget ---------------------------------------------------------


def test_mfa_budget_is_separate_from_sign_ins_and_tokens(alpha_owner, tenant_alpha):
    """Token floods and failed sign-ins from the user's address do not lock the second
    factor; wrong codes lock the authenticator (its own budget) and no sign-in."""
    enrolment = Enrolment(alpha_owner, tenant_alpha)
    for n in range(30):
        bearer(unsigned_token(tenant_alpha.pk, n))
        basic(f"nobody{n}", "guess")
    with tenant_context(tenant_alpha):
        assert mfa.verify_totp(alpha_owner, enrolment.totp())
        for _ in range(mfa.MAX_FAILURES):
            mfa.verify_totp(alpha_owner, enrolment.wrong_totp())
        with pytest.raises(mfa.MFALocked) as locked:
            mfa.verify_totp(alpha_owner, enrolment.totp())
    assert "MFA code" in str(locked.value)
    assert basic("alice", PASSWORD).status_code == 200


# --- the shared cache is down: a fail-safe local limit, never a 500 ---------------------------


@pytest.fixture
def redis_down(settings):
    """The shared cache points at a port where nothing listens (a stopped Redis)."""
    from tests.outages import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_FUNCTION": "tenancy.cache.make_tenant_key",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    throttle_store.reset()
    yield settings
    from tenancy import degraded

    degraded.reset()  # this process "saw" Redis fail: later tests must not skip it
    throttle_store.reset()


def test_redis_down_throttling_falls_back_to_a_local_limit(redis_down, tenant_alpha, caplog):
    caplog.set_level(logging.WARNING, logger="dim.security")
    with tenant_context(tenant_alpha):
        verdicts = [threats.analyze_threat("token_invalid", ip="192.0.2.9") for _ in range(11)]
        assert all(v.allowed for v in verdicts[:10]) and not verdicts[10].allowed
        for _ in range(6):
            threats.analyze_threat("login", username="alice", ip="192.0.2.9")
        assert not threats.login_allowed("alice", "192.0.2.9").allowed  # still protected
        assert threats.login_allowed("alice", "192.0.2.10").allowed
    status = throttle_store.status()
    assert status["mode"] == "local" and status["shared_errors"] >= 1
    assert status["local_observations"] >= 17
    assert "threat_throttling_degraded" in [r.getMessage() for r in caplog.records]


def test_redis_down_sign_in_checks_and_token_refusals_answer_without_500(redis_down, db):
    from django.test import RequestFactory
    from rest_framework.exceptions import Throttled

    from security_mgr import login_guard

    request = RequestFactory().get("/api/v1/settings/", REMOTE_ADDR=SHARED)
    assert login_guard.check(login_guard.Attempt("alice", SHARED, (None,))).allowed
    for _ in range(10):
        login_guard.observe_refused_token(request, "bad_signature", None)
    with pytest.raises(Throttled) as exc:
        login_guard.observe_refused_token(request, "bad_signature", None)
    assert "refused session tokens" in str(exc.value.detail)
