"""PostgreSQL becomes unreachable under a running server (issue 10, degraded modes):
requests get a JSON 503 with Retry-After at once instead of a long wait and an HTML 500,
`/health/` says the database is down, and the server recovers by itself.

The shared PostgreSQL cannot be stopped (other tests use it), so the server process
reaches it through a TCP forwarder of the test's own (`tests.outages.TcpProxy`) that the
test cuts: "refuse" is a stopped server (connections reset, new ones refused), "silent"
a hung one or a network dropping packets (connections accepted, never answered), where
only the timeouts of config/settings.py keep requests short. The requests used only read,
so the server process leaves no rows behind in the shared test database.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.markers import postgres_only
from tests.outages import ServerProcess, TcpProxy, http, wait_until

pytestmark = postgres_only("a real PostgreSQL behind a forwarder the test controls")

# "Does not hang": the client gives up (TimeoutError, the test fails) if no answer comes
# within this, far above the configured 2 s + 2 s and below the 10 s of the issue. Nothing
# is measured: the 503 itself is the behaviour, the timeouts are asserted as settings.
HANG_GUARD_SECONDS = 5.0
KEYS = "/api/v1/tenants/no-such-tenant/session-keys/"  # public, read-only, reads the DB


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def proxied_server(tmp_path):
    target = urlsplit(os.environ["DATABASE_URL"])
    proxy = TcpProxy(target.port or 5432, target.hostname or "127.0.0.1").start()
    server = ServerProcess(
        {
            "DATABASE_URL": _through(proxy, os.environ["DATABASE_URL"]),
            # Short, so the test also sees the pool give up backing off and reconnect on
            # demand (production: 10 s).
            "POSTGRES_POOL_RECONNECT_TIMEOUT": "3",
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "CELERY_RESULT_BACKEND": "",
            "DIM_VAR_DIR": str(tmp_path),
        }
    )
    try:
        server.start()
        yield proxy, server
    finally:
        server.stop()
        proxy.stop()


def test_database_timeouts_are_short_by_default(settings):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["connect_timeout"] == 2
    if "pool" in options:
        assert options["pool"]["timeout"] == 2.0
        assert options["pool"]["reconnect_timeout"] == 10.0


def _assert_unavailable(answer):
    assert answer.status == 503, answer
    assert answer.headers["Content-Type"] == "application/json", answer.headers
    assert answer.json()["error"]["code"] == "database_unavailable"
    assert int(answer.headers["Retry-After"]) > 0


def _outage(url: str, proxy: TcpProxy, how: str) -> None:
    proxy.cut(how)
    _assert_unavailable(http("GET", url + KEYS, timeout=HANG_GUARD_SECONDS))
    health = http("GET", f"{url}/health/", timeout=HANG_GUARD_SECONDS)
    assert health.status == 503, health
    assert health.json()["status"] == "down"
    assert health.json()["dependencies"]["database"] == "down"
    assert int(health.headers["Retry-After"]) > 0
    ready = http("GET", f"{url}/readyz", timeout=HANG_GUARD_SECONDS)  # config/health.py
    assert ready.status == 503, ready
    assert "database" in ready.json()["failing"]
    assert ready.json()["status"].startswith("not ready: database down")
    assert http("GET", f"{url}/healthz", timeout=HANG_GUARD_SECONDS).status == 200


def _recovers(url: str, proxy: TcpProxy) -> None:
    proxy.restore()
    wait_until(lambda: http("GET", f"{url}/health/").status == 200, "health says up again")
    assert http("GET", url + KEYS).status == 404  # the database answered: no such tenant
    assert http("GET", f"{url}/health/").json()["status"] == "ok"
    assert http("GET", f"{url}/readyz").status == 200


def test_database_outage_is_a_fast_json_503_and_recovers(proxied_server):
    proxy, server = proxied_server
    url = server.url
    health = http("GET", f"{url}/health/")
    assert health.status == 200, (health, server.output())
    assert health.json()["dependencies"]["database"] == "up"
    assert http("GET", url + KEYS).status == 404

    _outage(url, proxy, "refuse")  # a stopped server: refused at once
    _recovers(url, proxy)
    _outage(url, proxy, "silent")  # a hung server or lost packets: only timeouts help
    _recovers(url, proxy)
    assert "database_unavailable" in server.output()  # the log line
    assert "database_recovered" in server.output()
