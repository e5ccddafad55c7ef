"""Read routing with a replica (issue 17, replicas and failover).

The "replica" is a stand-in: a second alias (`replica_0`) reaching the same PostgreSQL
database through a TCP forwarder of the test's own (`tests.outages.TcpProxy`). The
routing decisions are what is proved: reads go to it when it answers and is fresh; to
the primary inside a transaction, after the request wrote, when it is down (forwarder
cut) and when it lags. No test transaction here (it would keep every read on the
primary): the tests only read.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.db import connections, transaction

from connection_mgr import aliases, breaker, replicas
from connection_mgr.tests.test_fault_postgres import through
from tenancy.models import Tenant
from tests.markers import postgres_only
from tests.outages import TcpProxy

pytestmark = postgres_only("a real PostgreSQL behind a forwarder standing in for a replica")


@pytest.fixture
def replica(settings, django_db_setup, django_db_blocker):
    target = urlsplit(os.environ["DATABASE_URL"])
    proxy = TcpProxy(target.port or 5432, target.hostname or "127.0.0.1").start()
    settings.DATABASE_REPLICA_URLS = through(proxy, os.environ["DATABASE_URL"])
    replicas.reset()
    breaker.reset()
    with django_db_blocker.unblock():
        aliases.register("replica_0", settings.DATABASE_REPLICA_URLS, options={"pool": False})
        try:
            yield proxy
        finally:
            aliases.unregister("replica_0")
            connections["default"].close()
            proxy.stop()
            replicas.reset()
            breaker.reset()


def _read_went_to() -> set[str]:
    went = set()

    def seen(alias):
        def wrapper(execute, sql, params, many, context):
            if "tenancy_tenant" in sql:
                went.add(alias)
            return execute(sql, params, many, context)

        return wrapper

    # execute_wrapper (not CaptureQueriesContext, which connects on entry)
    with (
        connections["default"].execute_wrapper(seen("default")),
        connections["replica_0"].execute_wrapper(seen("replica_0")),
    ):
        Tenant.objects.filter(slug="no-such-tenant").exists()
    return went


def test_reads_go_to_a_fresh_replica(replica):
    token = replicas.begin_request()
    try:
        assert _read_went_to() == {"replica_0"}
    finally:
        replicas.end_request(token)


def test_primary_inside_a_transaction_and_after_a_write(replica):
    token = replicas.begin_request()
    try:
        with transaction.atomic():
            assert _read_went_to() == {"default"}
        assert _read_went_to() == {"replica_0"}
        replicas.mark_wrote()  # what the router's db_for_write does
        assert _read_went_to() == {"default"}
    finally:
        replicas.end_request(token)
    token = replicas.begin_request()  # the next request reads from the replica again
    try:
        assert _read_went_to() == {"replica_0"}
    finally:
        replicas.end_request(token)


def test_router_write_marks_the_request():
    from connection_mgr.router import TenantDatabaseRouter

    token = replicas.begin_request()
    try:
        assert not replicas.wrote()
        TenantDatabaseRouter().db_for_write(Tenant)
        assert replicas.wrote()
    finally:
        replicas.end_request(token)


def test_falls_back_to_the_primary_when_the_replica_is_down(replica):
    token = replicas.begin_request()
    try:
        assert _read_went_to() == {"replica_0"}
        connections["replica_0"].close()
        replica.cut("refuse")
        replicas.reset()  # forget the last lag measurement
        assert _read_went_to() == {"default"}
    finally:
        replicas.end_request(token)


def test_falls_back_to_the_primary_when_the_replica_lags(replica, monkeypatch, settings):
    settings.CONNECTION_REPLICA_MAX_LAG_SECONDS = 5
    # What pg_last_xact_replay_timestamp() gives on a standby 30 s behind (the stand-in
    # is no standby): the query still runs on the replica.
    monkeypatch.setattr(replicas, "LAG_SQL", "SELECT 30.0")
    token = replicas.begin_request()
    try:
        assert replicas.lag_seconds("replica_0") == 30.0
        assert _read_went_to() == {"default"}
    finally:
        replicas.end_request(token)
