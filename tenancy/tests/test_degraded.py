"""Degraded modes in one process (issue 10): which database errors are an outage, the JSON
503 whatever raised it, `/health/`, and the membership copies while Redis is unreachable.
The failures are real: a refused port, a locked SQLite file, a Redis behind a forwarder
the test cuts (tests/outages.py). The running-server tests are tests/test_degraded_*.py.
"""

from __future__ import annotations

import sqlite3

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from tenancy import degraded, membership_cache
from tests.markers import require_program
from tests.outages import PrivateRedis, TcpProxy, free_port

pytestmark = pytest.mark.django_db


def _as_django(exc: Exception) -> OperationalError:
    """What Django's DatabaseErrorWrapper makes of a driver's error."""
    wrapped = OperationalError(*exc.args)
    wrapped.__cause__ = exc
    return wrapped


def _refused_by_postgres_port() -> Exception:
    import psycopg

    try:
        psycopg.connect(host="127.0.0.1", port=free_port(), connect_timeout=2).close()
    except psycopg.OperationalError as exc:
        return exc
    raise AssertionError("nothing listens there, yet it connected")


def _sqlite_error(tmp_path, *, locked: bool) -> Exception:
    name = str(tmp_path / f"locked-{locked}.sqlite3")
    holder = sqlite3.connect(name, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    if locked:
        holder.execute("BEGIN EXCLUSIVE")
    try:
        other = sqlite3.connect(name, timeout=0)
        other.execute("SELECT * FROM t" if locked else "SELECT * FROM no_such_table")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.close()
    raise AssertionError("expected an error")


def test_degraded_database_outage_is_told_from_a_bug(tmp_path):
    assert degraded.is_database_unavailable(_as_django(_refused_by_postgres_port()))
    assert degraded.is_database_unavailable(_as_django(_sqlite_error(tmp_path, locked=True)))
    assert degraded.is_database_unavailable(InterfaceError("connection already closed"))
    # A missing table is a bug: a 500, not "try again later".
    assert not degraded.is_database_unavailable(_as_django(_sqlite_error(tmp_path, locked=False)))
    assert not degraded.is_database_unavailable(ValueError("no"))


def test_degraded_pool_and_server_states_are_outages():
    import psycopg.errors
    from psycopg_pool import PoolTimeout

    for cause in (PoolTimeout("couldn't get a connection after 2.00 sec"),
                  psycopg.errors.AdminShutdown("terminating connection"),
                  psycopg.errors.TooManyConnections("too many clients")):  # fmt: skip
        assert degraded.is_database_unavailable(_as_django(cause)), cause
    assert not degraded.is_database_unavailable(
        _as_django(psycopg.errors.UndefinedTable("relation does not exist"))
    )


# --- the JSON 503, whoever raised --------------------------------------------------------


def _outage_view(request):
    raise _as_django(_refused_by_postgres_port())


def _bug_view(request):
    raise _as_django(sqlite3.OperationalError("no such table: nope"))


def _redis_outage_view(request):
    import redis

    # Nothing listens there (from_url: no retries with back-off, as the project's clients).
    redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1).get("x")


def _broker_outage_view(request):
    import kombu

    broker = kombu.Connection(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1)
    broker.ensure_connection(max_retries=0)  # what a task's publish meets with no broker


urlpatterns = [
    path("outage/", _outage_view),
    path("broker-outage/", _broker_outage_view),
    path("redis-outage/", _redis_outage_view),
    path("bug/", _bug_view),
    path("fine/", lambda request: HttpResponse("fine")),
]


class RaisingMiddleware:
    """A middleware that meets the outage itself (as session or tenant lookups do)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/fine/" and request.GET.get("fail"):
            raise _as_django(_refused_by_postgres_port())
        return self.get_response(request)


@pytest.fixture
def outage_urls(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RaisingMiddleware"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("where", ["/outage/", "/fine/?fail=1"])
def test_degraded_database_outage_answers_json_503(outage_urls, settings, debug, where):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get(where)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0
    assert degraded.database.down
    assert degraded.counters()["database.unavailable_responses"] == 1


@pytest.mark.parametrize("kind", ["redis", "broker"])
def test_degraded_redis_failure_with_no_fallback_answers_json_503(outage_urls, caplog, kind):
    response = Client(raise_request_exception=False).get(f"/{kind}-outage/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == f"{kind}_unavailable"
    assert int(response["Retry-After"]) > 0
    # The log line names where a fallback is missing.
    where = {getattr(r, "raised_at", "") for r in caplog.records}
    assert any("tenancy/tests/test_degraded.py" in w for w in where), where


def test_degraded_a_bug_stays_a_500(outage_urls):
    response = Client(raise_request_exception=False).get("/bug/")
    assert response.status_code == 500
    assert not degraded.database.down


# --- GET /health/ ----------------------------------------------------------------------


def test_degraded_health_names_each_dependency(client, settings):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["dependencies"]["database"] == "up"
    assert body["dependencies"]["redis"] == ("up" if settings.REDIS_URL else "not_configured")
    assert body["status"] == "ok" and response["Cache-Control"] == "no-store"


def test_degraded_health_says_redis_down_and_still_serves(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["dependencies"] == {"database": "up", "redis": "down"}


# --- memberships while Redis is unreachable -------------------------------------------


@pytest.fixture
def redis_behind_proxy(settings, monkeypatch):
    """The shared cache on a Redis of the test's own, reached through a forwarder: cutting
    it makes Redis unreachable while Redis keeps its data (a partition, not a restart)."""
    from config.settings import redis_cache

    require_program(
        "redis-server", "a Redis of the test's own, cut off behind a forwarder",
        "apt-get install redis-server",
    )  # fmt: skip
    server = PrivateRedis().start()
    proxy = TcpProxy(server.port).start()
    url = f"redis://127.0.0.1:{proxy.port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {"default": redis_cache(url)}
    settings.TENANT_RESOLUTION_CACHE_SECONDS = 300
    settings.TENANT_MEMBERSHIP_LISTENER = False  # the shared copy alone
    monkeypatch.setattr(degraded.redis, "retry_seconds", 0.0)  # retry at once here
    membership_cache.listener.stop()  # another test's, on the shared Redis
    membership_cache.take_undelivered()
    try:
        yield proxy
    finally:
        proxy.stop()
        server.kill()
        membership_cache.take_undelivered()


def _slugs(user):
    from tenancy.resolution import memberships_of

    return [m.tenant.slug for m in memberships_of(user)]


def test_degraded_memberships_come_from_the_database_while_redis_is_down(
    alpha_owner, tenant_alpha, redis_behind_proxy, django_assert_num_queries
):
    assert _slugs(alpha_owner) == ["alpha"]  # cached in Redis now
    with django_assert_num_queries(0):
        assert _slugs(alpha_owner) == ["alpha"]
    redis_behind_proxy.cut("refuse")
    with django_assert_num_queries(1):
        assert _slugs(alpha_owner) == ["alpha"]
    assert degraded.counters()["redis.memberships"] == 1
    assert degraded.redis.down


def test_degraded_membership_change_during_outage_is_not_served_stale_after(
    alpha_owner, tenant_alpha, tenant_beta, redis_behind_proxy
):
    from tenancy.context import tenant_context
    from tenancy.models import Membership, Role

    assert _slugs(alpha_owner) == ["alpha"]  # cached in Redis
    redis_behind_proxy.cut("refuse")
    with tenant_context(tenant_beta):  # memberships are written in their tenant's context
        Membership.objects.create(user=alpha_owner, tenant=tenant_beta, role=Role.VIEWER)
    with tenant_context(tenant_alpha):
        Membership.objects.filter(user=alpha_owner, tenant=tenant_alpha).delete()
    assert _slugs(alpha_owner) == ["beta"]  # from the database
    assert alpha_owner.pk in membership_cache.undelivered
    redis_behind_proxy.restore()
    # Redis still holds the copy from before the change: it must never be served.
    assert _slugs(alpha_owner) == ["beta"]
    assert alpha_owner.pk not in membership_cache.undelivered
    assert not degraded.redis.down
