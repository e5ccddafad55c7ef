"""A dedicated tenant's database goes down (issue 17, faults): its breaker opens and its
requests get a 503 naming the database, while another tenant is unaffected; when it is
back, one probe (half-open) closes the breaker again.

The tenant's "own database" is the shared test database reached through a TCP forwarder
of the test's own (`tests.outages.TcpProxy`), registered as the tenant's alias: cutting
the forwarder is that database going down. Requests only read, so nothing is left in
the shared database.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connections

from connection_mgr import aliases, breaker
from connection_mgr.models import Mode, TenantDatabase
from connection_mgr.tests.conftest import alias_allowed
from tenancy.context import platform_access
from tests.markers import postgres_only
from tests.outages import TcpProxy
from tests.personas import api_as

pytestmark = [postgres_only("a real PostgreSQL behind a forwarder the test controls")]
SETTINGS = "/api/v1/settings/"


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def beta_dedicated(tenant_beta, settings):
    settings.CONNECTION_BREAKER_FAILURES = 2
    settings.CONNECTION_BREAKER_OPEN_SECONDS = 0.2
    target = urlsplit(os.environ["DATABASE_URL"])
    proxy = TcpProxy(target.port or 5432, target.hostname or "127.0.0.1").start()
    alias = f"tenant_{tenant_beta.pk}"
    url = through(proxy, os.environ["DATABASE_URL"])
    aliases.register(alias, url, options={"pool": False})  # no pool: a refusal is at once
    with platform_access("test: route beta through the proxy"):
        TenantDatabase.objects.create(tenant=tenant_beta, mode=Mode.DEDICATED, alias=alias, url=url)
    aliases.reset()
    breaker.reset()
    try:
        with alias_allowed(alias):
            yield proxy, alias
    finally:
        aliases.unregister(alias)
        aliases.reset()
        breaker.reset()
        proxy.stop()


def test_down_database_opens_its_breaker_and_only_its_tenant_gets_503(
    beta_dedicated, beta_admin, alpha_admin, tenant_alpha, tenant_beta, superuser
):
    proxy, alias = beta_dedicated
    beta = api_as(beta_admin, tenant_beta)
    alpha = api_as(alpha_admin, tenant_alpha)
    assert beta.get(SETTINGS).status_code == 200
    assert connections[alias].settings_dict["PORT"] == proxy.port  # it went through the proxy

    connections[alias].close()  # as at the end of a real request (the test client keeps it)
    proxy.cut("refuse")
    for _ in range(2):  # the threshold: real connection failures
        answer = beta.get(SETTINGS)
        assert answer.status_code == 503
        assert answer.json()["error"]["database"] == alias
    assert breaker.breaker(alias).state == breaker.OPEN
    refused = beta.get(SETTINGS)  # refused by the breaker without trying
    assert refused.status_code == 503 and refused["Retry-After"]
    assert alias in refused.json()["error"]["message"]
    assert alpha.get(SETTINGS).status_code == 200  # the other tenant: unaffected

    metrics = api_as(superuser).get("/metrics")
    assert f'dim_db_breaker_state{{alias="{alias}"}} 2.0' in metrics.content.decode()

    states = []
    breaker.on_change(lambda name, state: states.append(state) if name == alias else None)
    proxy.restore()
    time.sleep(0.25)  # the open interval passes: the next request is the probe
    assert beta.get(SETTINGS).status_code == 200
    assert states == [breaker.HALF_OPEN, breaker.CLOSED]
    assert breaker.breaker(alias).state == breaker.CLOSED


def test_console_gets_a_page_naming_the_database(rf):
    from connection_mgr.middleware import ConnectionMiddleware

    request = rf.get("/console/")
    answer = ConnectionMiddleware(lambda r: None).process_exception(
        request, breaker.DatabaseUnavailable("tenant_42")
    )
    assert answer.status_code == 503
    assert answer["Content-Type"].startswith("text/html")
    assert 'data-database="tenant_42"' in answer.content.decode()
