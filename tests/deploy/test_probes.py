"""/healthz and /readyz (config/health.py, issue 18): liveness touches nothing; readiness
names every failing dependency with a 503. A real database outage under a server process
is in tests/test_degraded_postgres.py."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from config import health
from config.celery import app as celery_app
from perf_mgr.collectors import QUEUE_DEPTHS_KEY
from tenancy.context import no_tenant

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture(autouse=True)
def _forget_migrations_seen(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_liveness_answers_on_any_host_over_plain_http(client, settings):
    # A kubelet probes the pod's IP over HTTP: neither ALLOWED_HOSTS nor the redirect apply.
    settings.ALLOWED_HOSTS = ["dim.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200


def test_readiness_reports_every_dependency(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["ready"] is True and body["failing"] == []
    assert set(body["checks"]) == {
        "database", "redis", "broker", "workers", "audit_lag", "migrations",
    }  # fmt: skip
    assert body["checks"]["database"]["state"] == "up"
    assert body["checks"]["migrations"] == {"state": "up", "pending": []}
    assert body["checks"]["audit_lag"]["state"] == "up"


def test_pending_migrations_fail_readiness(client, monkeypatch):
    monkeypatch.setattr(health, "unapplied_migrations", lambda: ["metadata_mgr.0099_next"])
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["pending"] == ["metadata_mgr.0099_next"]
    assert body["status"] == "not ready: migrations pending"
    assert int(response["Retry-After"]) > 0


def test_unapplied_migrations_reads_the_database():
    assert health.unapplied_migrations() == []
    assert health._migrations_applied is True  # not read again by this process


def test_redis_down_fails_readiness_naming_it(client, settings):
    settings.REDIS_URL = DEAD_REDIS
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]
    assert "redis down" in response.json()["status"]


def test_broker_down_fails_readiness_naming_it(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", DEAD_REDIS)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["checks"]["broker"] == {"state": "down"}


def test_stale_workers_are_reported_and_fail_only_when_required(client, settings):
    stale = time.time() - 10 * settings.PERFORMANCE_MONITORING_INTERVAL
    with no_tenant():
        cache.set(QUEUE_DEPTHS_KEY, {"at": stale, "depths": {}}, 60)
    try:
        body = client.get("/readyz").json()
        assert body["ready"] is True
        assert body["checks"]["workers"]["state"] == "stale"
        settings.READINESS_REQUIRED = [*settings.READINESS_REQUIRED, "workers"]
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failing"] == ["workers"]
    finally:
        with no_tenant():
            cache.delete(QUEUE_DEPTHS_KEY)


def test_other_methods_and_paths_pass_through(client):
    assert client.post("/readyz").status_code != 200  # not the probe: the URL map's 404
    assert client.get("/readyz/").status_code == 200  # a trailing slash is the same probe
