"""The metadata API: records CRUD, filters and pages, versions, diff, rollback, restore,
roles, another tenant's records answering like missing ones, and every bad input a
4xx in the API's error format that names the problem."""

import pytest

from metadata_mgr.models import Record, RecordVersion
from tenancy.context import tenant_context
from tenancy.models import Role
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/metadata/records/"


def post(client, body, path=BASE):
    return client.post(path, body, format="json")


@pytest.fixture
def alpha(alpha_owner, tenant_alpha):
    return api_as(alpha_owner, tenant_alpha)


@pytest.fixture
def made(alpha):
    response = post(
        alpha,
        {
            "metadata_type": "schema",
            "content": {"table": "users"},
            "name": "users",
            "tags": ["pii"],
            "owner": "data",
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_api_create_and_read_record(alpha, made, alpha_owner):
    assert made["version"] == "1.0" and made["content"] == {"table": "users"}
    assert made["created_by"] == alpha_owner.username and made["tags"] == ["pii"]
    detail = alpha.get(f"{BASE}{made['id']}/")
    assert detail.status_code == 200 and detail.json()["name"] == "users"


def test_api_list_filters_and_pages(alpha, made):
    post(alpha, {"metadata_type": "business", "content": {}, "name": "b", "owner": "x"})
    listed = alpha.get(BASE, {"type": "schema"}).json()
    assert [r["name"] for r in listed["results"]] == ["users"] and "content" not in listed[
        "results"
    ][0]
    assert [r["name"] for r in alpha.get(BASE, {"tag": "pii"}).json()["results"]] == ["users"]
    assert [r["name"] for r in alpha.get(BASE, {"owner": "x"}).json()["results"]] == ["b"]
    assert alpha.get(BASE, {"page_size": 1}).json()["count"] == 2
    assert alpha.get(BASE, {"deleted": "maybe"}).status_code == 400
    assert alpha.get(BASE, {"type": "poetry"}).status_code == 400


def test_api_update_versions_diff_rollback(alpha, made):
    url = f"{BASE}{made['id']}/"
    assert (
        alpha.patch(url, {"content": {"table": "users", "rows": 3}}, format="json").json()[
            "version"
        ]
        == "1.1"
    )
    assert alpha.patch(url, {"content": {"rows": 3}}, format="json").json()["version"] == "2.0"
    versions = alpha.get(f"{url}versions/").json()["results"]
    assert [v["label"] for v in versions] == ["2.0", "1.1", "1.0"] and versions[0]["breaking"]
    detail = alpha.get(f"{url}versions/1.1/").json()
    assert detail["document"]["content"] == {"table": "users", "rows": 3}
    assert detail["changes"] == [{"op": "added", "path": "/content/rows", "new": 3}]
    diff = alpha.get(f"{url}diff/", {"from": "1", "to": "latest"}).json()
    assert diff["from"]["label"] == "1.0" and diff["to"]["label"] == "2.0" and diff["breaking"]
    rolled = post(alpha, {"version": "1.0"}, f"{url}rollback/")
    assert rolled.status_code == 200, rolled.content
    assert rolled.json()["record"]["content"] == {"table": "users"}
    assert rolled.json()["version"]["rolled_back_to"] == 1


@pytest.mark.parametrize(
    "ref,status,code",
    [
        ("9", 404, "version_not_found"),
        ("2.5", 404, "version_not_found"),
        ("abc", 400, "invalid_version"),
        ("", 400, "invalid"),
    ],
)
def test_api_rollback_to_missing_version_is_refused(alpha, made, tenant_alpha, ref, status, code):
    response = post(alpha, {"version": ref}, f"{BASE}{made['id']}/rollback/")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    with tenant_context(tenant_alpha):
        assert RecordVersion.objects.count() == 1


def test_api_missing_version_detail_and_diff_name_the_version(alpha, made):
    url = f"{BASE}{made['id']}/"
    missing = alpha.get(f"{url}versions/4/")
    assert missing.status_code == 404 and "no version 4" in missing.json()["error"]["message"]
    assert alpha.get(f"{url}diff/", {"from": "1"}).status_code == 400


def test_api_delete_and_restore(alpha, made):
    url = f"{BASE}{made['id']}/"
    deleted = alpha.delete(url)
    assert deleted.status_code == 200 and deleted.json()["deleted_at"]
    assert alpha.get(BASE).json()["count"] == 0
    assert alpha.get(BASE, {"deleted": "1"}).json()["count"] == 1
    assert alpha.delete(url).json()["error"]["code"] == "already_deleted"
    restored = post(alpha, {}, f"{url}restore/")
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"metadata_type": "schema", "content": [1, 2]}, 400, "invalid_content"),
        ({"metadata_type": "schema", "content": "text"}, 400, "invalid_content"),
        ({"metadata_type": "poetry", "content": {}}, 400, "invalid"),
        ({"content": {}}, 400, "invalid"),
        ({"metadata_type": "schema", "content": {}, "subject": "ghost"}, 400, "unknown_subject"),
        ({"metadata_type": "schema", "content": {}, "tags": ["a|b"]}, 400, "invalid_tags"),
        (
            {"metadata_type": "schema", "content": {}, "name": "a", "schema_name": "b"},
            400,
            "invalid",
        ),
    ],
)
def test_api_create_bad_input_is_4xx_naming_the_problem(alpha, tenant_alpha, body, status, code):
    response = post(alpha, body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    with tenant_context(tenant_alpha):
        assert not Record.objects.exists()


def test_api_create_invalid_json_is_400(alpha):
    response = alpha.post(
        BASE, '{"metadata_type": "schema", "content": {', content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"]


def test_api_create_oversized_is_413(alpha, settings):
    settings.METADATA_MAX_CONTENT_BYTES = 50
    response = post(alpha, {"metadata_type": "schema", "content": {"x": "y" * 100}})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "content_too_large"


def test_api_duplicate_name_is_409(alpha, made):
    response = post(alpha, {"metadata_type": "schema", "content": {}, "name": "users"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "name_taken"


def test_api_viewer_reads_but_cannot_write(alpha_viewer, tenant_alpha, made):
    viewer = api_as(alpha_viewer, tenant_alpha)
    assert viewer.get(f"{BASE}{made['id']}/").status_code == 200
    assert post(viewer, {"metadata_type": "schema", "content": {}}).status_code == 403
    assert viewer.patch(f"{BASE}{made['id']}/", {"owner": "x"}, format="json").status_code == 403


def test_api_other_tenant_record_answers_like_a_missing_one(beta_owner, tenant_beta, made):
    beta = api_as(beta_owner, tenant_beta)
    foreign = beta.get(f"{BASE}{made['id']}/")
    missing = beta.get(f"{BASE}00000000-0000-0000-0000-000000000001/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    for path in ("versions/", "versions/1/", "diff/?from=1&to=1"):
        assert beta.get(f"{BASE}{made['id']}/{path}").status_code == 404
    assert post(beta, {"version": 1}, f"{BASE}{made['id']}/rollback/").status_code == 404
    assert beta.delete(f"{BASE}{made['id']}/").status_code == 404


def test_api_seed_create_alias_with_tenant_slug(alpha_owner, tenant_alpha):
    body = {
        "tenant_id": "alpha",
        "metadata_type": "schema",
        "content": {"table": "users"},
        "schema_name": "user_schema",
    }
    response = api_as(alpha_owner).post("/metadata/create", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "user_schema"


@pytest.mark.parametrize("ref", ["beta", "no-such-tenant", 987654])
def test_api_seed_create_alias_foreign_tenant_refused(alpha_owner, tenant_alpha, tenant_beta, ref):
    body = {"tenant_id": ref, "metadata_type": "schema", "content": {}}
    response = api_as(alpha_owner, tenant_alpha).post("/metadata/create", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_not_accessible"
    with tenant_context(tenant_alpha):
        assert not Record.objects.exists()


def test_api_seed_alias_errors_are_json(alpha_owner, tenant_alpha):
    response = api_as(alpha_owner, tenant_alpha).get("/metadata/create")
    assert response.status_code == 405 and response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "body",
    [
        {"metadata_type": "schema", "content": {}, "name": 5},
        {"metadata_type": "schema", "content": {}, "sensitive": "yes"},
        {"metadata_type": "schema", "content": {}, "subject": "s", "subject_version": "1"},
        {"metadata_type": "schema", "content": {}, "tags": [1]},
        {"metadata_type": "schema", "content": {}, "owner": 7},
    ],
)
def test_api_create_values_of_the_wrong_json_type_are_400(alpha, tenant_alpha, body):
    response = post(alpha, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    with tenant_context(tenant_alpha):
        assert not Record.objects.exists()


def test_api_lists_are_pages(alpha, made):
    for path in (BASE, f"{BASE}{made['id']}/versions/", "/api/v1/metadata/subjects/"):
        body = alpha.get(path).json()
        assert set(body) == {"count", "next", "previous", "results"}, path


def test_api_owner_makes_a_sensitive_record_plain(alpha, tenant_alpha):
    made = post(alpha, {"metadata_type": "business", "content": {"card": "4111"}, "name": "c",
                        "sensitive": True}).json()  # fmt: skip
    changed = alpha.patch(f"{BASE}{made['id']}/", {"sensitive": False}, format="json")
    assert changed.status_code == 200 and changed.json()["sensitive"] is False


def test_api_member_cannot_make_a_sensitive_record_plain(tenant_alpha, alpha_owner):
    from django.contrib.auth import get_user_model

    from tenancy.actions import do_add_member

    member = get_user_model().objects.create_user(username="mem", password="persona-password-1")
    do_add_member(tenant_alpha, member, Role.MEMBER)
    client = api_as(member, tenant_alpha)
    made = post(client, {"metadata_type": "business", "content": {"card": "4111"}, "name": "c",
                         "sensitive": True}).json()  # fmt: skip
    refused = client.patch(f"{BASE}{made['id']}/", {"sensitive": False}, format="json")
    assert refused.status_code == 403
    with tenant_context(tenant_alpha):
        assert Record.objects.get(pk=made["id"]).sensitive
