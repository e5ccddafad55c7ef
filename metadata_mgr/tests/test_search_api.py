"""POST /api/v1/metadata/search/ and the seed's POST /metadata/search: the seed's body,
roles (viewers may search), and every bad input a 400 naming the problem."""

import pytest

from metadata_mgr.tests.search_data import make_catalogue
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
PATH = "/api/v1/metadata/search/"


@pytest.fixture
def catalogue(tenant_alpha):
    with tenant_context(tenant_alpha):
        return make_catalogue()


def test_api_search_answers_ranked_hits(catalogue, alpha_viewer, tenant_alpha):
    client = api_as(alpha_viewer, tenant_alpha)
    response = client.post(
        PATH, {"query": "user email", "similarity_threshold": 0.2}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "user email" and body["count"] == len(body["results"])
    top = body["results"][0]
    assert top["name"] == "user_schema" and top["keyword_rank"] == 1
    assert set(top) >= {"id", "score", "similarity", "version", "metadata_type", "tags"}


def test_seed_alias_with_the_seed_body_and_tenant_slug(catalogue, alpha_owner, tenant_alpha):
    client = api_as(alpha_owner)
    body = {
        "query": "parcel tracking",
        "semantic_search": True,
        "similarity_threshold": 0.8,
        "tenant_id": tenant_alpha.slug,
    }
    for path in ("/metadata/search", "/metadata/search/"):
        response = client.post(path, body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["results"][0]["name"] == "shipping_events"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"query": ""}, "query is empty"),
        ({"query": "   "}, "query is empty"),
        ({}, "query"),
        ({"query": "x", "similarity_threshold": 1.5}, "similarity_threshold"),
        ({"query": "x", "similarity_threshold": -0.5}, "similarity_threshold"),
        ({"query": "x", "similarity_threshold": "high"}, "similarity_threshold"),
        ({"query": "x", "semantic_search": "yes"}, "semantic_search"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "metadata_type": "poetry"}, "metadata_type"),
        ({"query": "x", "semantic_search": False, "keyword_search": False}, "both off"),
        ({"query": ["x"]}, "query"),
    ],
)
def test_bad_search_input_is_a_400_naming_the_problem(
    catalogue, alpha_owner, tenant_alpha, body, words
):
    response = api_as(alpha_owner, tenant_alpha).post(PATH, body, format="json")
    assert response.status_code == 400, response.content
    assert words in response.content.decode()


def test_malformed_json_is_a_400(alpha_owner, tenant_alpha):
    response = api_as(alpha_owner, tenant_alpha).post(
        PATH, "{not json", content_type="application/json"
    )
    assert response.status_code == 400
