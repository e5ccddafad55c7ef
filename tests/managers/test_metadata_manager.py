"""The seed's metadata examples (shared/seeds: "Quick Example", "Metadata Manager",
"Manager Initialization"), run as written given an existing tenant `tenant_123`,
search included."""

import pytest

from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import Record
from tenancy.context import tenant_context
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def tenant_123(db):
    return Tenant.objects.create(slug="tenant-123", name="Seed tenant")


async def seed_examples():
    from managers import MetadataManager, MetadataManagerFactory, MetadataSearch, MetadataType

    # "Quick Example"
    metadata_manager = MetadataManager()
    metadata_id = await metadata_manager.create_metadata(
        tenant_id="tenant_123",
        metadata_type=MetadataType.BUSINESS,
        content={"name": "Customer Data", "schema": "v2.0"},
    )

    # "Metadata Manager"
    manager = MetadataManagerFactory.create_production_manager()
    await manager.initialize()

    schema_id = await manager.create_metadata(
        tenant_id="tenant_123",
        metadata_type=MetadataType.SCHEMA,
        content={"table": "users", "version": "2.1.0"},
        schema_name="user_schema",
    )

    # Semantic search
    search_config = MetadataSearch(
        query="user data schema", semantic_search=True, similarity_threshold=0.8
    )
    results = await manager.search_metadata("tenant_123", search_config)

    # "Manager Initialization"
    metadata_mgr = MetadataManagerFactory.create_production_manager()
    await metadata_mgr.initialize()
    return metadata_id, schema_id, manager, results


def test_facade_seed_metadata_examples_run_as_written(tenant_123):
    from asgiref.sync import async_to_sync

    metadata_id, schema_id, manager, results = async_to_sync(seed_examples)()
    # "user data schema": both records match words of it ("Customer Data" has "data"
    # and "schema" in its content; how they rank is up to each database's full-text
    # scoring); no cosine similarity reaches the seed's 0.8, so the semantic list adds
    # nothing.
    assert sorted(hit["name"] for hit in results) == ["Customer Data", "user_schema"]
    assert all(hit["similarity"] is None for hit in results)
    with tenant_context(tenant_123):
        business = Record.objects.get(pk=metadata_id)
        schema = Record.objects.get(pk=schema_id)
    assert (business.name, business.metadata_type, business.version) == (
        "Customer Data",
        "business",
        "1.0",
    )
    assert (schema.name, schema.metadata_type) == ("user_schema", "schema")
    assert manager.get_metadata_sync("tenant_123", schema_id)["content"] == {
        "table": "users",
        "version": "2.1.0",
    }


def test_facade_versions_diff_rollback_and_registry(tenant_123, settings):
    from managers import MetadataManager

    manager = MetadataManager(actor="tester")
    assert manager.register_schema_sync("tenant_123", "users", {"type": "object"}) == 1
    rid = manager.create_metadata_sync(
        "tenant_123", "technical", {"a": 1}, subject="users", tags=["x"]
    )
    assert manager.update_metadata_sync("tenant_123", rid, {"a": 1, "b": 2})["version"] == "1.1"
    assert manager.update_metadata_sync("tenant_123", rid, {"b": 2})["version"] == "2.0"
    assert [v["label"] for v in manager.get_history_sync("tenant_123", rid)] == [
        "2.0",
        "1.1",
        "1.0",
    ]
    diff = manager.diff_versions_sync("tenant_123", rid, "1.0", "2.0")
    assert diff["breaking"] and diff["removed"] == 1
    rolled = manager.rollback_metadata_sync("tenant_123", rid, 1)
    assert rolled["content"] == {"a": 1} and rolled["version"] == "3.0"
    assert [r["id"] for r in manager.list_metadata_sync("tenant_123", tag="x")] == [rid]
    assert manager.set_compatibility_sync("tenant_123", "FULL") == "FULL"
    assert manager.delete_metadata_sync("tenant_123", rid)
    assert manager.list_metadata_sync("tenant_123") == []
    assert manager.restore_metadata_sync("tenant_123", rid)["deleted_at"] is None


def test_facade_import_from_text(tenant_123):
    from managers import MetadataManager

    lines = '{"metadata_type": "business", "content": {"name": "a"}}\nnot json\n'
    outcome = MetadataManager().import_metadata_sync("tenant_123", lines)
    assert (outcome["imported"], outcome["rejected"], outcome["state"]) == (1, 1, "succeeded")


@pytest.mark.parametrize(
    "tenant_ref,code",
    [("nope", "unknown_tenant"), (2**70, "unknown_tenant"), (None, "unknown_tenant")],
)
def test_facade_unknown_tenant_is_refused(tenant_123, tenant_ref, code):
    from managers import MetadataManager

    with pytest.raises(MetadataError) as refused:
        MetadataManager().create_metadata_sync(tenant_ref, "business", {"a": 1})
    assert refused.value.code == code and refused.value.status == 404


def test_facade_record_of_another_tenant_is_not_found(tenant_123):
    from managers import MetadataManager

    Tenant.objects.create(slug="other", name="Other")
    manager = MetadataManager()
    rid = manager.create_metadata_sync("tenant_123", "business", {"a": 1})
    with pytest.raises(MetadataError) as refused:
        manager.get_metadata_sync("other", rid)
    assert refused.value.status == 404
