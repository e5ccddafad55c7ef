"""Rules and channels are edited in the admin with the API's validation; alerts and
the outbox are read-only; each tenant sees its own."""

import pytest
from django.test import Client

from perf_mgr.models.alerting import AlertChannel, AlertRule
from tenancy.context import tenant_context
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

ADD = "/admin/perf_mgr/alertrule/add/"


def _form(**overrides):
    form = {
        "name": "slow",
        "condition": "session_creation_time_p95 > 100ms",
        "severity": "warning",
        "for_s": "0",
        "keep_firing_for_s": "0",
        "labels": "{}",
        "annotations": "{}",
        "enabled": "on",
    }
    return {**form, **overrides}


def _client(user):
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


def test_admin_adds_a_valid_rule_in_its_tenant(alpha_admin, tenant_alpha, tenant_beta):
    response = _client(alpha_admin).post(ADD, _form())
    assert response.status_code == 302, response.content[:2000]
    with tenant_context(tenant_alpha):
        assert AlertRule.objects.get().name == "slow"
    with tenant_context(tenant_beta):
        assert not AlertRule.objects.exists()


def test_admin_refuses_a_rule_that_does_not_parse_with_its_position(alpha_admin, tenant_alpha):
    response = _client(alpha_admin).post(ADD, _form(condition="threat_level >> 1"))
    assert response.status_code == 200
    assert b"line 1, column 15" in response.content
    with tenant_context(tenant_alpha):
        assert not AlertRule.objects.exists()


def test_admin_refuses_unknown_metric(alpha_admin, tenant_alpha):
    response = _client(alpha_admin).post(ADD, _form(condition="nope_p95 > 1"))
    assert response.status_code == 200
    assert b"Unknown metric" in response.content


def test_admin_refuses_bad_webhook_url(alpha_admin, tenant_alpha):
    response = _client(alpha_admin).post(
        "/admin/perf_mgr/alertchannel/add/",
        {"name": "h", "kind": "webhook", "target": "javascript:alert(1)", "min_severity": "info"},
    )
    assert response.status_code == 200
    assert b"http:// or https:// URL" in response.content
    with tenant_context(tenant_alpha):
        assert not AlertChannel.objects.exists()


def test_alerts_changelist_is_read_only(alpha_admin, tenant_alpha):
    client = _client(alpha_admin)
    assert client.get("/admin/perf_mgr/alertstate/").status_code == 200
    assert client.get("/admin/perf_mgr/alertstate/add/").status_code == 403
    assert client.get("/admin/perf_mgr/alertnotification/").status_code == 200
