"""A configured backend that is down is a 503 with Retry-After and a message naming
it, never a 500: Elasticsearch on the search endpoints (and the seed's POST
/metadata/search), MongoDB on a record's content.

The faults are real client errors, not mocks of our code: the named stand-in
`InMemoryElasticsearch` with its `fault` switch raises the elasticsearch client's own
exceptions, and the real `Elasticsearch` / `MongoClient` clients are pointed at a
port nobody listens on.
"""

from __future__ import annotations

import socket

import pytest

from metadata_mgr import backends
from metadata_mgr import search_engine as engine
from metadata_mgr.actions import do_create_record
from metadata_mgr.backends.elastic import ElasticsearchSearch
from metadata_mgr.backends.mongo import MongoDocumentStore
from metadata_mgr.exceptions import BackendUnavailable
from metadata_mgr.models import MetadataOutbox
from metadata_mgr.tests.es_standin import InMemoryElasticsearch
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
SEARCH_PATHS = ["/api/v1/metadata/search/", "/metadata/search"]
RECORDS = "/api/v1/metadata/records/"


def closed_port() -> int:
    """A local port with nobody listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def elastic(settings):
    backends.reset()
    settings.METADATA_SEARCH_BACKEND = "elasticsearch"
    standin = InMemoryElasticsearch(shards=1)
    backends.use(search=ElasticsearchSearch(standin, index="dim-metadata"))
    yield standin
    backends.reset()


def assert_unavailable(response, backend: str):
    assert response.status_code == 503, response.content
    assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0
    error = response.json()["error"]
    assert error["code"] == "backend_unavailable" and backend in error["message"]


@pytest.mark.parametrize("path", SEARCH_PATHS)
@pytest.mark.parametrize("fault", ["refused", 503, 429])
def test_search_elasticsearch_down_is_503(elastic, path, fault, tenant_alpha, alpha_viewer):
    with tenant_context(tenant_alpha):
        do_create_record(metadata_type="technical", name="parcels", content={"s": "parcel"})
        engine.catch_up()
    elastic.fault = fault
    body = {"query": "parcel", "tenant_id": tenant_alpha.slug}
    response = api_as(alpha_viewer, tenant_alpha).post(path, body, format="json")
    assert_unavailable(response, "Elasticsearch")
    elastic.fault = None  # back up: the same search answers
    response = api_as(alpha_viewer, tenant_alpha).post(path, body, format="json")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_search_elasticsearch_down_keeps_the_outbox(elastic, tenant_alpha, alpha_viewer):
    """The indexer's batch rolled back: nothing half-written, applied when it is back."""
    with tenant_context(tenant_alpha):
        made = do_create_record(metadata_type="technical", name="p", content={"s": "parcel"})
    elastic.fault = "refused"
    response = api_as(alpha_viewer, tenant_alpha).post(
        SEARCH_PATHS[0], {"query": "parcel"}, format="json"
    )
    assert_unavailable(response, "Elasticsearch")
    with tenant_context(tenant_alpha):
        assert MetadataOutbox.objects.filter(record_id=made.pk).exists()
        elastic.fault = None
        engine.catch_up()
        assert not MetadataOutbox.objects.filter(record_id=made.pk).exists()


def test_search_real_client_on_a_closed_port_is_503(settings, tenant_alpha, alpha_viewer):
    from elasticsearch import Elasticsearch

    backends.reset()
    settings.METADATA_SEARCH_BACKEND = "elasticsearch"
    client = Elasticsearch(f"http://127.0.0.1:{closed_port()}", request_timeout=2, max_retries=0)
    backends.use(search=ElasticsearchSearch(client, index="dim-metadata"))
    try:
        response = api_as(alpha_viewer, tenant_alpha).post(
            SEARCH_PATHS[0], {"query": "parcel"}, format="json"
        )
    finally:
        backends.reset()
    assert_unavailable(response, "Elasticsearch")


@pytest.fixture
def mongo_down(settings):
    from pymongo import MongoClient

    backends.reset()
    settings.METADATA_DOCUMENT_STORE = "mongodb"
    client = MongoClient(f"mongodb://127.0.0.1:{closed_port()}", serverSelectionTimeoutMS=200)
    backends.use(store=MongoDocumentStore(client["dim_metadata"]["records"]))
    yield
    backends.reset()
    client.close()


def test_store_mongodb_down_record_read_is_503(mongo_down, tenant_alpha, alpha_owner):
    client = api_as(alpha_owner, tenant_alpha)
    made = client.post(
        RECORDS, {"metadata_type": "technical", "name": "o", "content": {"t": 1}}, format="json"
    )
    assert made.status_code == 201, made.content  # the store is fed later, by the indexer
    response = client.get(f"{RECORDS}{made.json()['id']}/")
    assert_unavailable(response, "MongoDB")


def test_store_mongodb_down_search_is_503(mongo_down, tenant_alpha, alpha_viewer):
    """The search's catch-up mirrors the pending change into the store: down, the
    search says so rather than answering from an index it could not bring up to date."""
    with tenant_context(tenant_alpha):
        do_create_record(metadata_type="technical", name="p", content={"s": "parcel"})
    response = api_as(alpha_viewer, tenant_alpha).post(
        "/metadata/search", {"query": "parcel"}, format="json"
    )
    assert_unavailable(response, "MongoDB")


def test_store_mongodb_down_python_api_raises_backend_unavailable(mongo_down, in_alpha):
    made = do_create_record(metadata_type="technical", name="p", content={"s": "parcel"})
    with pytest.raises(BackendUnavailable) as raised:
        backends.document_store().get(str(made.pk))
    assert raised.value.status == 503 and raised.value.headers["Retry-After"]
