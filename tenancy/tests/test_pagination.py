"""Page numbers and sizes are checked: a clear 400 naming the parameter, never a 404 or a
silently replaced value."""

import pytest

from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.personas import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_settings(tenant_alpha):
    with tenant_context(tenant_alpha):
        for i in range(5):
            TenantSetting.objects.create(key=f"k.{i}", value=i)


def _error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "٣", "99999999999999999999", " "])
def test_pagination_bad_page_is_400(alpha_owner, five_settings, page):
    error = _error(api_as(alpha_owner).get("/api/v1/settings/", {"page": page}), 400)
    assert error["code"] == "invalid_page" and "page" in error["message"]


@pytest.mark.parametrize("size", ["0", "-5", "x", "501", "10000", "2.0", " "])
def test_pagination_bad_page_size_is_400_not_replaced(alpha_owner, five_settings, size):
    error = _error(api_as(alpha_owner).get("/api/v1/settings/", {"page_size": size}), 400)
    assert error["code"] == "invalid_page_size" and "500" in error["message"]


def test_pagination_page_beyond_last_is_404_saying_which_is_last(alpha_owner, five_settings):
    error = _error(api_as(alpha_owner).get("/api/v1/settings/?page=4&page_size=2"), 404)
    assert error["code"] == "page_out_of_range" and "last page is 3" in error["message"]


def test_pagination_valid_pages(alpha_owner, five_settings):
    client = api_as(alpha_owner)
    body = client.get("/api/v1/settings/?page=3&page_size=2").json()
    assert body["count"] == 5 and len(body["results"]) == 1 and body["next"] is None
    assert len(client.get("/api/v1/settings/?page=last&page_size=2").json()["results"]) == 1
    assert len(client.get("/api/v1/settings/?page_size=500").json()["results"]) == 5
    assert len(client.get("/api/v1/settings/?page=&page_size=").json()["results"]) == 5


def test_pagination_empty_list_first_page_is_fine(alpha_owner):
    body = api_as(alpha_owner).get("/api/v1/settings/?page=1").json()
    assert body["count"] == 0 and body["results"] == []


def test_pagination_sessions_list_checks_too(alpha_owner, tenant_alpha):
    error = _error(api_as(alpha_owner).get("/api/v1/sessions/?page=0"), 400)
    assert error["code"] == "invalid_page"


def test_pagination_schema_documents_the_bounds():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(api_version="v1").get_schema(public=True)
    params = schema["paths"]["/api/v1/settings/"]["get"]["parameters"]
    size = next(p for p in params if p["name"] == "page_size")
    assert size["schema"]["minimum"] == 1 and size["schema"]["maximum"] == 500
