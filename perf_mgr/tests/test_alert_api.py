"""The alerting API: rule CRUD with positioned 400s, the seed's YAML import, channels
with validated targets, alerts and the outbox, each tenant's only."""

import pytest

from perf_mgr.models.alerting import AlertRule, AlertState
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alerts/rules/"
SEED = """alerts:
  - name: high_session_creation_latency
    condition: session_creation_time_p95 > 100ms
    severity: warning
  - name: anomaly_detected
    condition: anomaly_score > 0.9
    severity: critical
  - name: security_threat_detected
    condition: threat_level == "high"
    severity: critical
"""


def test_rule_create_read_update_delete(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    body = {
        "name": "slow",
        "condition": "session_creation_time_p95 > 100ms",
        "severity": "warning",
        "for": "5m",
        "keep_firing_for": "10m",
        "labels": {"team": "sessions"},
        "annotations": {"summary": "Sessions are slow"},
    }
    created = client.post(RULES, body, format="json")
    assert created.status_code == 201, created.content
    assert (created.data["for"], created.data["keep_firing_for"]) == (300.0, 600.0)
    url = f"{RULES}{created.data['id']}/"
    patched = client.patch(url, {"severity": "critical"}, format="json")
    assert patched.status_code == 200
    assert patched.data["severity"] == "critical"
    assert patched.data["condition"] == "session_creation_time_p95 > 100ms"
    assert client.get(RULES).data["results"][0]["name"] == "slow"
    assert client.delete(url).status_code == 204
    with tenant_context(tenant_alpha):
        assert not AlertRule.objects.exists()


def test_rule_that_does_not_parse_is_400_with_position(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    response = client.post(
        RULES, {"name": "bad", "condition": "session_creation_time_p95 >\n  > 1"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"], error["line"], error["column"]) == (
        "invalid_condition",
        "condition",
        2,
        3,
    )


def test_rule_with_unknown_metric_is_400_naming_it(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    response = client.post(RULES, {"name": "x", "condition": "made_up_p95 > 1s"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_metric"
    assert "made_up_p95" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body,code",
    [
        ({"name": "x", "condition": "threat_level > 1", "severity": "loud"}, "invalid_severity"),
        ({"name": "x", "condition": "threat_level > 1", "for": "soon"}, "invalid_duration"),
        ({"name": "x y", "condition": "threat_level > 1"}, "invalid_name"),
        ({"name": "x", "condition": "threat_level > 1", "labels": ["a"]}, "invalid_labels"),
        ({"name": "x", "condition": 5}, "invalid_condition"),
        ({"name": "x", "condition": "threat_level > 1", "colour": "red"}, "unknown_field"),
    ],
)
def test_rule_bad_fields_are_400(alpha_admin, tenant_alpha, body, code):
    response = api_as(alpha_admin, tenant_alpha).post(RULES, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_rule_duplicate_name_is_400(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    body = {"name": "x", "condition": "threat_level > 1"}
    assert client.post(RULES, body, format="json").status_code == 201
    response = client.post(RULES, body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "duplicate_name")


def test_seed_yaml_imports_and_anomaly_rule_reads_the_detector(alpha_admin, tenant_alpha):
    from perf_mgr.alerting import evaluator

    client = api_as(alpha_admin, tenant_alpha)
    response = client.post(f"{RULES}import/", {"yaml": SEED}, format="json")
    assert response.status_code == 200, response.content
    assert len(response.data["rules"]) == 3
    with tenant_context(tenant_alpha):
        evaluator.evaluate_tenant()
    rules = {r["name"]: r for r in client.get(RULES).data["results"]}
    assert rules["anomaly_detected"]["health"] == "ok"  # perf_mgr/anomalies.py is its source
    assert rules["high_session_creation_latency"]["health"] == "ok"


def test_import_refuses_bad_yaml_with_position(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    response = client.post(f"{RULES}import/", {"yaml": "alerts:\n  - name: [x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_yaml"
    assert response.json()["error"]["line"] >= 2


def test_viewer_reads_but_cannot_write_rules(alpha_viewer, tenant_alpha):
    client = api_as(alpha_viewer, tenant_alpha)
    assert client.get(RULES).status_code == 200
    body = {"name": "x", "condition": "threat_level > 1"}
    assert client.post(RULES, body, format="json").status_code == 403


@pytest.mark.parametrize(
    "kind,target",
    [
        ("webhook", "ftp://example.com/x"),
        ("webhook", "not a url"),
        ("webhook", "http://169.254.169.254/latest/meta-data/"),
        ("webhook", "http://127.0.0.1:8000/admin/"),
        ("webhook", "http://[::1]/"),
        ("email", "nobody"),
    ],
)
def test_channel_bad_target_is_400(alpha_admin, tenant_alpha, kind, target):
    response = api_as(alpha_admin, tenant_alpha).post(
        "/api/v1/alerts/channels/", {"name": "c", "kind": kind, "target": target}, format="json"
    )
    assert response.status_code == 400
    assert "target" in response.json()["error"]["fields"]


def test_channel_created_with_its_own_secret(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    body = {"name": "hook", "kind": "webhook", "target": "https://hooks.example.com/a"}
    response = client.post("/api/v1/alerts/channels/", body, format="json")
    assert response.status_code == 201
    assert len(response.data["secret"]) == 64


def test_other_tenants_rules_and_alerts_are_not_found(alpha_admin, beta_admin, tenant_alpha):
    with tenant_context(tenant_alpha):
        rule = AlertRule.objects.create(name="a", condition="threat_level > 1")
        AlertState.objects.create(rule=rule, fingerprint="f" * 32, status="firing")
    beta = api_as(beta_admin)
    assert beta.get(RULES).data["results"] == []
    assert beta.get(f"{RULES}{rule.pk}/").status_code == 404
    assert beta.delete(f"{RULES}{rule.pk}/").status_code == 404
    assert beta.get("/api/v1/alerts/").data["results"] == []
    alpha = api_as(alpha_admin, tenant_alpha)
    assert [a["status"] for a in alpha.get("/api/v1/alerts/?status=firing").data["results"]] == [
        "firing"
    ]
    assert alpha.get("/api/v1/alerts/?status=loud").status_code == 400
