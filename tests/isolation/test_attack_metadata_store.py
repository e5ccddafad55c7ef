"""Red team, metadata content read through the document store (metadata_mgr/content.py,
backends/mongo.py): one MongoDB collection holds every tenant's records. Tenant B knows
(or guesses) the id of A's record and asks for it through the API, the seed's alias
endpoints, the admin and the store itself; and with the store down (the 503 path), B
must learn nothing of A either — not even that the id exists."""

import mongomock
import pytest
from django.urls import reverse

from metadata_mgr import backends
from metadata_mgr import search_engine as engine
from metadata_mgr.actions import do_create_record
from metadata_mgr.backends.mongo import MongoDocumentStore
from metadata_mgr.content import current_content
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
RECORDS = "/api/v1/metadata/records/"
MISSING = "00000000-0000-4000-8000-000000000000"
SECRET = "alpha-only-parcel-zebra"


@pytest.fixture
def mongo_store(settings):
    backends.reset()
    settings.METADATA_DOCUMENT_STORE = "mongodb"
    store = MongoDocumentStore(mongomock.MongoClient()["dim_metadata"]["records"])
    backends.use(store=store)
    yield store
    backends.reset()


@pytest.fixture
def a_record(tenant_alpha, mongo_store):
    with tenant_context(tenant_alpha):
        made = do_create_record(
            metadata_type="technical", name=SECRET, content={"s": SECRET}, tags=[SECRET]
        )
        engine.catch_up()  # mirrored into the shared collection
        assert mongo_store.get(str(made.pk)) == {"s": SECRET}  # positive control
    return made


def _paths(record_id) -> list[str]:
    return [
        f"{RECORDS}{record_id}/",
        f"{RECORDS}{record_id}/versions/",
        f"{RECORDS}{record_id}/versions/1/",
        f"{RECORDS}{record_id}/diff/?from=1&to=1",
    ]


def test_attack_metadata_store_b_asks_the_store_for_a_record(tenant_beta, a_record, mongo_store):
    with tenant_context(tenant_beta):
        assert mongo_store.get(str(a_record.pk)) is None
        assert mongo_store.get_version(str(a_record.pk), a_record.version_seq) is None
        assert mongo_store.version_of(str(a_record.pk)) is None
        assert current_content(a_record.pk) is None
        mongo_store.delete(str(a_record.pk))  # B's delete only writes B's tombstone
    with tenant_context(a_record.tenant_id):
        assert mongo_store.get(str(a_record.pk)) == {"s": SECRET}


def test_attack_metadata_store_b_api_guessed_id_is_a_missing_id(
    tenant_alpha, tenant_beta, beta_owner, alpha_owner, a_record
):
    beta = api_as(beta_owner, tenant_beta)
    for foreign, missing in zip(_paths(a_record.pk), _paths(MISSING), strict=True):
        got, absent = beta.get(foreign), beta.get(missing)
        assert got.status_code == 404, (foreign, got.content)
        assert (got.status_code, got.content) == (absent.status_code, absent.content)
        assert SECRET.encode() not in got.content
    # B's admin naming A in X-Tenant is refused before any read.
    assert api_as(beta_owner).get(
        _paths(a_record.pk)[0], HTTP_X_TENANT=tenant_alpha.slug
    ).status_code in (403, 404)
    alpha = api_as(alpha_owner, tenant_alpha)
    for path in _paths(a_record.pk):  # control: each path answers A
        assert alpha.get(path).status_code == 200, path
    assert SECRET in alpha.get(_paths(a_record.pk)[0]).content.decode()


@pytest.mark.parametrize(
    "path", ["/metadata/search", "/metadata/search/", "/api/v1/metadata/search/"]
)
def test_attack_metadata_store_b_seed_search_naming_a(
    path, tenant_alpha, tenant_beta, beta_owner, a_record
):
    """The seed's body names the tenant by slug: B naming A is refused, B's own search
    never finds A's record."""
    beta = api_as(beta_owner, tenant_beta)
    named_a = beta.post(path, {"query": SECRET, "tenant_id": tenant_alpha.slug}, format="json")
    assert named_a.status_code in (400, 403, 404), named_a.content
    assert SECRET.encode() not in named_a.content
    own = beta.post(path, {"query": SECRET}, format="json")
    assert own.status_code == 200 and own.json()["count"] == 0
    created = beta.post(
        "/metadata/create",
        {"metadata_type": "technical", "name": "b", "content": {}, "tenant_id": tenant_alpha.slug},
        format="json",
    )
    assert created.status_code in (400, 403, 404), created.content
    with tenant_context(tenant_alpha):
        from metadata_mgr.models import Record

        assert list(Record.objects.values_list("name", flat=True)) == [SECRET]


def test_attack_metadata_store_b_admin_change_view_of_a_record(
    tenant_beta, beta_owner, a_record, client
):
    client.force_login(beta_owner)
    change = "admin:metadata_mgr_record_change"
    foreign = client.get(reverse(change, args=[a_record.pk]))
    missing = client.get(reverse(change, args=[MISSING]))
    assert foreign.status_code == missing.status_code == 302
    assert foreign.get("Location") == missing.get("Location")
    listing = client.get(reverse("admin:metadata_mgr_record_changelist"))
    assert listing.status_code == 200 and SECRET.encode() not in listing.content


def test_attack_metadata_store_down_is_no_oracle_for_a_records(
    tenant_alpha, tenant_beta, beta_owner, settings
):
    """With the store down, B's guess of A's id answers exactly like a missing id (a 404,
    not the 503 an existing record would give), and B's own 503 names nothing of A."""
    with tenant_context(tenant_alpha):
        made = do_create_record(metadata_type="technical", name=SECRET, content={"s": SECRET})
    with tenant_context(tenant_beta):
        own = do_create_record(metadata_type="technical", name="b-own", content={"t": 1})
    beta = api_as(beta_owner, tenant_beta)
    from pymongo import MongoClient

    from metadata_mgr.tests.test_backends_unavailable import closed_port

    backends.reset()
    settings.METADATA_DOCUMENT_STORE = "mongodb"
    client = MongoClient(f"mongodb://127.0.0.1:{closed_port()}", serverSelectionTimeoutMS=200)
    backends.use(store=MongoDocumentStore(client["dim_metadata"]["records"]))
    try:
        foreign = beta.get(f"{RECORDS}{made.pk}/")
        missing = beta.get(f"{RECORDS}{MISSING}/")
        store_down = beta.get(f"{RECORDS}{own.pk}/")
        searched = beta.post("/metadata/search", {"query": SECRET}, format="json")
    finally:
        backends.reset()
        client.close()
    assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)
    assert foreign.status_code == 404
    assert store_down.status_code == 503  # positive control: B's own record needs the store
    for response in (foreign, store_down, searched):
        body = response.content.decode()
        assert SECRET not in body and str(made.pk) not in body
        assert tenant_alpha.slug not in body and str(tenant_alpha.pk) not in response.get(
            "Retry-After", ""
        )
