import pytest
from django.core.exceptions import ValidationError

from tenancy.context import platform_access, tenant_context
from tenancy.exceptions import TenantContextMissing, TenantMismatch
from tenancy.models import TenantSetting
from tests.scoping_app.models import Bookmark, Document, Folder


@pytest.mark.django_db
def test_create_fills_tenant_from_context(tenant_alpha):
    with tenant_context(tenant_alpha):
        setting = TenantSetting.objects.create(key="a.b", value=1)
    assert setting.tenant_id == tenant_alpha.pk


@pytest.mark.django_db
def test_same_key_in_two_tenants_is_allowed_but_not_twice_in_one(
    overlapping_settings, tenant_alpha
):
    with tenant_context(tenant_alpha):
        duplicate = TenantSetting(key="session.policy")
        with pytest.raises(ValidationError):
            duplicate.full_clean()


@pytest.mark.django_db
def test_platform_write_must_name_its_tenant(tenant_alpha):
    with platform_access("migrating settings for a test"):
        with pytest.raises(TenantContextMissing):
            TenantSetting.objects.create(key="x.y")
        setting = TenantSetting.objects.create(key="x.y", tenant=tenant_alpha)
    assert setting.tenant_id == tenant_alpha.pk


@pytest.mark.django_db
def test_platform_access_reads_every_tenant(overlapping_settings):
    with platform_access("test: cross-tenant read"):
        assert TenantSetting.objects.count() == 2


@pytest.mark.django_db
def test_forward_fk_from_unscoped_model_fails_closed(tenant_alpha, tenant_beta, alpha_owner):
    with tenant_context(tenant_beta):
        folder = Folder.objects.create(name="Inbox")
        doc_b = Document.objects.create(folder=folder, title="Report")
    bookmark = Bookmark.objects.create(user=alpha_owner, document_id=doc_b.pk)
    bookmark = Bookmark.objects.get(pk=bookmark.pk)
    with pytest.raises(TenantContextMissing):
        bookmark.document  # noqa: B018
    with tenant_context(tenant_alpha), pytest.raises(Document.DoesNotExist):
        bookmark.document  # noqa: B018
    with tenant_context(tenant_beta):
        assert bookmark.document == doc_b  # positive control


@pytest.mark.django_db
def test_bulk_update_cannot_move_rows_or_link_across(tenant_alpha, tenant_beta):
    with tenant_context(tenant_beta):
        folder_b = Folder.objects.create(name="Inbox")
    with tenant_context(tenant_alpha):
        folder_a = Folder.objects.create(name="Inbox")
        doc = Document.objects.create(folder=folder_a, title="Report")
        with pytest.raises(TenantMismatch):
            Document.objects.bulk_update([doc], ["tenant"])
        doc.folder_id = folder_b.pk
        with pytest.raises(TenantMismatch):
            Document.objects.bulk_update([doc], ["folder"])
        doc.folder_id = folder_a.pk
        doc.size = 7
        assert Document.objects.bulk_update([doc], ["size", "folder"]) == 1


@pytest.mark.django_db
def test_queryset_built_in_one_tenant_runs_for_the_tenant_in_context(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        Folder.objects.create(name="A-only")
    queryset = Folder.objects.all()  # built with no tenant: nothing runs yet
    with tenant_context(tenant_beta):
        assert list(queryset.values_list("name", flat=True)) == []
    with tenant_context(tenant_alpha):
        assert list(queryset.all().values_list("name", flat=True)) == ["A-only"]


@pytest.mark.django_db
def test_raw_query_must_select_tenant_column(tenant_alpha):
    with tenant_context(tenant_alpha):
        Folder.objects.create(name="Inbox")
        rows = list(Folder.objects.raw("SELECT id, tenant_id, name FROM scoping_app_folder"))
        assert [r.name for r in rows] == ["Inbox"]
        with pytest.raises(Exception, match="tenant_id"):
            list(Folder.objects.raw("SELECT id, name FROM scoping_app_folder"))


@pytest.mark.django_db
def test_update_cannot_compute_a_link_from_an_expression(tenant_alpha, tenant_beta):
    from django.db.models import F

    with tenant_context(tenant_beta):
        folder_b = Folder.objects.create(name="Inbox")
    with tenant_context(tenant_alpha):
        folder_a = Folder.objects.create(name="Inbox")
        Document.objects.create(folder=folder_a, title="Report", size=folder_b.pk)
        with pytest.raises(TenantMismatch, match="expression"):
            Document.objects.update(folder_id=F("size"))
        assert Document.objects.update(folder_id=F("folder_id")) == 1  # no-op is fine
        assert Document.objects.get().folder_id == folder_a.pk


@pytest.mark.django_db
def test_upsert_must_conflict_on_tenant(tenant_alpha, tenant_beta):
    with tenant_context(tenant_beta):
        theirs = TenantSetting.objects.create(key="k.x", value="B")
    with tenant_context(tenant_alpha):
        with pytest.raises(TenantMismatch, match="unique_fields"):
            TenantSetting.objects.bulk_create(
                [TenantSetting(pk=theirs.pk, key="k.x", value="stolen")],
                update_conflicts=True,
                unique_fields=["id"],
                update_fields=["value"],
            )
        TenantSetting.objects.create(key="k.x", value="A")
        TenantSetting.objects.bulk_create(
            [TenantSetting(key="k.x", value="A2")],
            update_conflicts=True,
            unique_fields=["tenant", "key"],
            update_fields=["value"],
        )
        assert TenantSetting.objects.get(key="k.x").value == "A2"
    with tenant_context(tenant_beta):
        assert TenantSetting.objects.get(pk=theirs.pk).value == "B"


@pytest.mark.django_db
def test_update_with_forged_instance_is_checked_against_the_database(tenant_alpha, tenant_beta):
    with tenant_context(tenant_beta):
        folder_b = Folder.objects.create(name="Inbox")
    with tenant_context(tenant_alpha):
        folder_a = Folder.objects.create(name="Inbox")
        doc = Document.objects.create(folder=folder_a, title="Report")
        forged = Folder(pk=folder_b.pk, tenant_id=tenant_alpha.pk)  # claims to be A's
        with pytest.raises(TenantMismatch):
            Document.objects.filter(pk=doc.pk).update(folder=forged)
        assert Document.objects.filter(pk=doc.pk).update(folder=folder_a) == 1  # control
