"""The registry's API over the real compatibility engine: subjects, versions, 409 with
reasons, the compatibility check that writes nothing, modes per tenant and per subject,
evolution."""

import pytest

from metadata_mgr.models import SubjectVersion
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/metadata/"
V1 = {"type": "object", "properties": {"table": {"type": "string"}}}
RETYPED = {"type": "object", "properties": {"table": {"type": "integer"}}}


@pytest.fixture
def alpha(alpha_owner, tenant_alpha):
    return api_as(alpha_owner, tenant_alpha)


def register(client, schema, subject="users"):
    return client.post(f"{BASE}subjects/{subject}/versions/", {"schema": schema}, format="json")


def test_api_register_and_read_schema_versions(alpha, engine):
    first = register(alpha, V1)
    assert first.status_code == 201 and first.json()["version"] == 1
    again = register(alpha, V1)
    assert again.status_code == 200 and again.json()["version"] == 1
    second = register(alpha, {**V1, "required": []})
    assert second.status_code == 201 and second.json()["version"] == 2
    assert [
        v["version"] for v in alpha.get(f"{BASE}subjects/users/versions/").json()["results"]
    ] == [1, 2]
    assert alpha.get(f"{BASE}subjects/users/versions/latest/").json()["version"] == 2
    assert alpha.get(f"{BASE}subjects/users/versions/9/").status_code == 404
    subject = alpha.get(f"{BASE}subjects/users/").json()
    assert subject["latest_version"] == 2 and subject["effective_compatibility"] == "BACKWARD"


def test_api_incompatible_schema_is_409_with_reasons(alpha, engine, tenant_alpha):
    register(alpha, V1)
    refused = register(alpha, RETYPED)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "incompatible_schema" and error["mode"] == "BACKWARD"
    assert error["reasons"] == [
        {
            "change_type": "TYPE_CHANGED",
            "pointer": "#/properties/table",
            "direction": "backward",
            "version": 1,
        }
    ]
    with tenant_context(tenant_alpha):
        assert SubjectVersion.objects.count() == 1


def test_api_compatibility_check_writes_nothing(alpha, engine, tenant_alpha):
    register(alpha, V1)
    url = f"{BASE}subjects/users/compatibility/"
    answer = alpha.post(url, {"schema": RETYPED}, format="json").json()
    assert answer["compatible"] is False and answer["reasons"]
    assert alpha.post(url, {"schema": RETYPED, "compatibility": "none"}, format="json").json()[
        "compatible"
    ]
    with tenant_context(tenant_alpha):
        assert SubjectVersion.objects.count() == 1
    assert (
        alpha.post(
            f"{BASE}subjects/ghost/compatibility/", {"schema": V1}, format="json"
        ).status_code
        == 404
    )


def test_api_invalid_schema_is_400_naming_the_pointer(alpha):
    response = register(alpha, {"type": "object", "properties": {"a": {"type": 5}}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_schema"
    assert response.json()["error"]["pointer"] == "/properties/a/type"


def test_api_modes_per_tenant_and_subject(alpha, alpha_admin, tenant_alpha, engine):
    register(alpha, V1)
    admin = api_as(alpha_admin, tenant_alpha)
    assert admin.put(f"{BASE}config/", {"compatibility": "full"}, format="json").json() == {
        "compatibility": "FULL"
    }
    assert alpha.get(f"{BASE}config/").json() == {"compatibility": "FULL"}
    url = f"{BASE}subjects/users/config/"
    changed = admin.put(url, {"compatibility": "NONE", "open_content_aware": True}, format="json")
    assert changed.json()["compatibility"] == "NONE" and changed.json()["open_content_aware"]
    assert register(alpha, RETYPED).status_code == 201  # NONE
    cleared = admin.put(url, {"compatibility": None}, format="json").json()
    assert cleared["compatibility"] is None and cleared["effective_compatibility"] == "FULL"
    assert (
        admin.put(f"{BASE}config/", {"compatibility": "SIDEWAYS"}, format="json").status_code == 400
    )


def test_api_mode_config_needs_admin(alpha_owner, alpha_viewer, tenant_alpha):
    viewer = api_as(alpha_viewer, tenant_alpha)
    assert viewer.put(f"{BASE}config/", {"compatibility": "FULL"}, format="json").status_code == 403
    assert viewer.get(f"{BASE}config/").status_code == 200


def test_api_subject_create_list_and_duplicate(alpha):
    created = alpha.post(
        f"{BASE}subjects/", {"name": "orders-value", "compatibility": "forward"}, format="json"
    )
    assert created.status_code == 201 and created.json()["compatibility"] == "FORWARD"
    assert (
        alpha.post(f"{BASE}subjects/", {"name": "orders-value"}, format="json").json()["error"][
            "code"
        ]
        == "subject_exists"
    )
    assert [s["name"] for s in alpha.get(f"{BASE}subjects/").json()["results"]] == ["orders-value"]


def test_api_record_validated_against_subject(alpha):
    register(alpha, {**V1, "required": ["table"]})
    ok = alpha.post(
        f"{BASE}records/",
        {"metadata_type": "schema", "content": {"table": "u"}, "subject": "users"},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["subject_version"] == 1
    bad = alpha.post(
        f"{BASE}records/",
        {"metadata_type": "schema", "content": {"table": 1}, "subject": "users"},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "schema_violation"
    assert bad.json()["error"]["pointer"] == "/table"


def test_api_subjects_of_another_tenant_are_not_found(alpha, beta_owner, tenant_beta):
    register(alpha, V1)
    beta = api_as(beta_owner, tenant_beta)
    assert beta.get(f"{BASE}subjects/users/").status_code == 404
    assert beta.get(f"{BASE}subjects/users/versions/1/").status_code == 404
    assert beta.get(f"{BASE}subjects/").json()["count"] == 0
    # beta's own "users" subject is a different one: its first version needs no check.
    assert register(beta, RETYPED).json()["version"] == 1


def test_api_evolve(alpha, engine):
    register(alpha, {"type": "object", "additionalProperties": False, "properties": {"a": {}}})
    answer = alpha.post(f"{BASE}subjects/users/evolve/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["failing_records"] == 0
