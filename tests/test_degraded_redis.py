"""Redis dies under a running server (issue 10, degraded modes): bearer tokens keep
validating, tenants keep resolving and users keep signing in, from the database, with a
log line and a counter; when Redis comes back the server uses it again by itself.

The server is the project's WSGI application on a real HTTP port, serving on this test's
database connection (`tests.browser.server.LiveConsole`: the runtime role may not
flush tables, so data cannot be committed for another process), with its cache, its
membership copy and its listeners on a Redis server of the test's own, which the test
kills with SIGKILL and starts again. The shared Redis is never touched."""

from __future__ import annotations

import logging

import pytest

from tests.markers import require_program
from tests.outages import PrivateRedis, basic, http, wait_until
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_redis():
    require_program(
        "redis-server", "a Redis of the test's own, killed under a live server",
        "apt-get install redis-server",
    )  # fmt: skip
    server = PrivateRedis().start()
    yield server
    server.kill()


@pytest.fixture
def server_on_private_redis(private_redis, settings, monkeypatch):
    """The live server with Redis = the private server, as a deployment configures it.
    The session view's resync reads revocations through a connection of its own, which
    cannot see this test's rows and would commit its escape-hatch audit entries into the
    shared test database: it resyncs nothing here (as in sessions_mgr/tests/peer_process.py)."""
    from config.settings import redis_cache
    from security_mgr import invalidation
    from sessions_mgr import fastpath
    from tenancy import degraded, membership_cache
    from tests.browser.server import LiveConsole

    settings.REDIS_URL = private_redis.url
    settings.CACHES = {"default": redis_cache(private_redis.url)}
    settings.TENANT_RESOLUTION_CACHE_SECONDS = 300
    settings.TENANT_MEMBERSHIP_LISTENER = True
    settings.SESSION_FASTPATH_LISTENER = True
    settings.SECURITY_KEY_LISTENER = True
    degraded.reset()
    # Listeners other tests left running are subscribed to the shared Redis: start over.
    listeners = (membership_cache.listener, invalidation.listener)
    for listener in listeners:
        listener.stop()
    fastpath.stop_listener()
    monkeypatch.setattr(fastpath.get_view(), "resync", lambda: None)
    live = LiveConsole()
    try:
        yield live
    finally:
        live.stop()
        for listener in listeners:
            listener.stop()
        fastpath.stop_listener()
        degraded.reset()


def _sign_in(url, user="alice", tenant="alpha"):
    return http(
        "POST",
        f"{url}/api/v1/sessions/",
        headers={"Authorization": basic(user, PASSWORD), "X-Tenant": tenant},
        json_body={},
    )


def _as_bearer(url, token, path="/api/v1/tenant/", method="GET"):
    return http(method, url + path, headers={"Authorization": f"Bearer {token}"})


def test_redis_outage_keeps_token_validation_and_tenant_resolution_working(
    alpha_owner, tenant_alpha, private_redis, server_on_private_redis, caplog
):
    from sessions_mgr import fastpath
    from tenancy import degraded, membership_cache

    caplog.set_level(logging.WARNING, logger="dim")
    url = server_on_private_redis.url

    # Redis up: sign in, use the token; the memberships are cached in Redis.
    signed = _sign_in(url)
    assert signed.status == 201, signed
    token, session_id = signed.json()["token"], signed.json()["id"]
    other = _sign_in(url).json()["token"]
    answer = _as_bearer(url, token)
    assert answer.status == 200 and answer.json()["slug"] == "alpha", answer
    assert private_redis.keys("*dim:memberships:*")
    wait_until(lambda: membership_cache.listener.healthy, "membership listener subscribed")
    wait_until(lambda: fastpath.get_view().healthy, "session view trusted (fast path)")

    # Redis dies (SIGKILL: no goodbye to the clients).
    private_redis.kill()
    wait_until(lambda: not membership_cache.listener.healthy, "the listener noticed")
    wait_until(lambda: not fastpath.get_view().healthy, "the session view noticed")
    db_validations = fastpath.get_view().counters.db_validations

    for bearer in (token, other):
        answer = _as_bearer(url, bearer)
        assert answer.status == 200 and answer.json()["slug"] == "alpha", answer
    # Still correct, not just open: a revocation made during the outage holds at once.
    revoked = _as_bearer(url, token, f"/api/v1/sessions/{session_id}/revoke/", "POST")
    assert revoked.status == 200, revoked
    refused = _as_bearer(url, token)
    assert refused.status == 401 and refused.json()["error"]["code"] == "revoked", refused
    assert _as_bearer(url, other).status == 200

    assert degraded.counters()["redis.memberships"] >= 1
    assert fastpath.get_view().counters.db_validations > db_validations
    assert "redis_unavailable" in {r.getMessage() for r in caplog.records}
    health = http("GET", f"{url}/health/")
    assert health.status == 200, health
    assert health.json()["status"] == "degraded"
    assert health.json()["dependencies"] == {"database": "up", "redis": "down"}

    # Redis is back: the server uses it again by itself.
    private_redis.start()
    wait_until(lambda: http("GET", f"{url}/health/").json()["status"] == "ok", "health reports ok")
    wait_until(lambda: membership_cache.listener.healthy, "membership listener resubscribed")
    wait_until(lambda: fastpath.get_view().healthy, "session view trusted again")
    wait_until(
        lambda: _as_bearer(url, other).status == 200 and private_redis.keys("*dim:memberships:*"),
        "memberships cached in Redis again",
    )
    assert "redis_recovered" in {r.getMessage() for r in caplog.records}
    assert _as_bearer(url, token).status == 401  # the revocation outlived the outage


def test_redis_outage_keeps_sign_in_working(
    alpha_owner, tenant_alpha, private_redis, server_on_private_redis
):
    """Basic-auth sign-in asks throttling first (security_mgr/threats.py, whose counters
    live in Redis): it must fall back too, not answer 503."""
    url = server_on_private_redis.url
    assert _sign_in(url).status == 201
    private_redis.kill()
    signed = _sign_in(url)
    assert signed.status == 201, signed
    assert _as_bearer(url, signed.json()["token"]).status == 200
    private_redis.start()
    wait_until(lambda: _sign_in(url).status == 201, "sign-in with Redis back")
