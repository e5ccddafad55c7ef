"""The OpenAPI schema tells the truth (issue 10, point 8): every operation documents the
one error format and the statuses any operation can answer, success statuses and bodies
are those the views return, and the documentation pages work offline. The live run of
schemathesis against all of it is tests/test_api_schemathesis.py."""

import jsonschema
import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tenancy.api.openapi import ERROR_SCHEMA, TENANT_SLUG_PATTERN
from tests.personas import api_as

ALWAYS = {"400", "401", "403", "404", "405", "406", "413", "429", "503"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator(api_version="v1").get_schema(public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def response_ref(operation, status):
    return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]


def test_openapi_every_operation_documents_the_error_statuses(schema):
    assert schema["components"]["schemas"]["Error"] == ERROR_SCHEMA
    seen = 0
    for method, path, operation in operations(schema):
        seen += 1
        expected = set(ALWAYS)
        if method != "get":
            expected.add("409")
        if "requestBody" in operation:
            expected.add("415")
        documented = set(operation["responses"])
        assert expected <= documented, (method, path, expected - documented)
        for status in expected:
            assert response_ref(operation, status) == "#/components/schemas/Error"
        for status in ("429", "503"):
            assert "Retry-After" in operation["responses"][status]["headers"]
    assert seen > 40  # the whole API, the seed's aliases included


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("post", "/api/v1/sessions/", "201"),
        ("post", "/sessions/create", "201"),
        ("post", "/api/v1/security/keys/rewrap/", "202"),
        ("post", "/api/v1/security/audit/heads/", "201"),
        ("post", "/api/v1/security/mfa/totp/", "201"),
        ("post", "/api/v1/security/mfa/backup-codes/", "201"),
        ("post", "/api/v1/security/mfa/passkeys/register/", "201"),
        ("post", "/api/v1/settings/", "201"),
        ("delete", "/api/v1/settings/{id}/", "204"),
        ("post", "/api/v1/sessions/{session_id}/refresh/", "200"),
    ],
)
def test_openapi_success_status_is_the_views(schema, method, path, status):
    successes = {s for s in schema["paths"][path][method]["responses"] if s.startswith("2")}
    assert successes == {status}


def test_openapi_session_list_is_paginated(schema):
    operation = schema["paths"]["/api/v1/sessions/"]["get"]
    assert response_ref(operation, "200") == "#/components/schemas/PaginatedSessionList"
    names = {p["name"] for p in operation["parameters"]}
    assert {"page", "page_size", "user", "active"} <= names


def test_openapi_no_success_without_a_body(schema):
    """Every 200/201/202 says what it returns (no "No response body" left)."""
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status in ("200", "201", "202"):
                assert "content" in response, (method, path, status)


def test_openapi_pages_are_bounded_and_tenant_header_has_the_slug_syntax(schema):
    operation = schema["paths"]["/api/v1/settings/"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert parameters["page"]["minimum"] == 1
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert parameters["X-Tenant"]["pattern"] == TENANT_SLUG_PATTERN
    # A public endpoint resolves no tenant: no X-Tenant there.
    public = schema["paths"]["/api/v1/tenants/{slug}/session-keys/"]["get"]
    assert "X-Tenant" not in {p["name"] for p in public.get("parameters", [])}


def test_openapi_creations_link_to_their_object(schema):
    links = schema["paths"]["/api/v1/settings/"]["post"]["responses"]["201"]["links"]
    assert links["api_v1_settings_destroy"]["parameters"] == {"id": "$response.body#/id"}
    session = schema["paths"]["/api/v1/sessions/"]["post"]["responses"]["201"]["links"]
    assert session["api_v1_sessions_revoke_create"]["parameters"] == {
        "session_id": "$response.body#/id"
    }


@pytest.mark.django_db
def test_openapi_error_schema_matches_what_the_api_answers(alpha_owner, tenant_alpha, alpha_viewer):
    answers = [
        APIClient().get("/api/v1/tenant/"),  # 401
        api_as(alpha_owner, tenant_alpha).get("/api/v1/settings/999999999/"),  # 404
        api_as(alpha_owner, tenant_alpha).post(
            "/api/v1/settings/", {"key": ""}, format="json"
        ),  # 400
        api_as(alpha_viewer, tenant_alpha).post("/api/v1/settings/", {"key": "x"}, format="json"),
        api_as(alpha_owner).get("/api/v1/tenant/", HTTP_X_TENANT="Not A Slug"),
    ]
    assert [a.status_code for a in answers] == [401, 404, 400, 403, 400]
    for answer in answers:
        assert answer["Content-Type"] == "application/json"
        jsonschema.validate(answer.json(), ERROR_SCHEMA)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_use_no_cdn(path):
    """Swagger UI and ReDoc come from drf-spectacular-sidecar's static files: /api/docs/
    works offline."""
    response = APIClient().get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn." not in page and "unpkg" not in page and "jsdelivr" not in page
    assert "/static/drf_spectacular_sidecar/" in page
    assert "/api/schema/" in page


@pytest.mark.parametrize(
    "asset",
    [
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
        "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
    ],
)
def test_api_docs_assets_are_installed(asset):
    assert finders.find(asset), asset
