"""Joins into scoped tables carry the tenant condition too (tenancy/joins.py), so a
query that reaches a scoped table from an unscoped model or through a reverse relation
is filtered by the ORM on every backend, and fails closed with no tenant."""

import pytest
from django.contrib.auth import get_user_model

from tenancy.context import no_tenant, platform_access, tenant_context
from tenancy.exceptions import TenantContextMissing
from tests.scoping_app.models import Bookmark, Document, Folder


@pytest.fixture
def bookmarks(tenant_alpha, tenant_beta):
    user = get_user_model().objects.create(username="reader")
    docs = {}
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            folder = Folder.objects.create(name=f"{tenant.slug}-folder")
            docs[tenant.slug] = Document.objects.create(folder=folder, title=f"{tenant.slug}-doc")
    for doc in docs.values():
        Bookmark.objects.create(user=user, document_id=doc.pk)
    return docs


@pytest.mark.django_db
def test_joins_select_related_from_unscoped_model_sees_own_tenant_only(bookmarks, tenant_alpha):
    with tenant_context(tenant_alpha):
        joined = [b.document.title for b in Bookmark.objects.select_related("document")]
        values = list(Bookmark.objects.values_list("document__title", flat=True))
        probe = Bookmark.objects.filter(document__title="beta-doc").exists()
    assert joined == ["alpha-doc"]
    assert values == ["alpha-doc"]  # an INNER JOIN: rows pointing at B drop out
    assert probe is False


@pytest.mark.django_db
def test_joins_without_tenant_fail_closed(bookmarks):
    with no_tenant(), pytest.raises(TenantContextMissing):
        list(Bookmark.objects.values_list("document__folder__name", flat=True))
    assert Bookmark.objects.count() == 2  # a query that joins nothing scoped still runs


@pytest.mark.django_db
def test_joins_reverse_and_exclude_are_scoped(bookmarks, tenant_alpha):
    with tenant_context(tenant_alpha):
        assert list(
            Folder.objects.filter(documents__title__endswith="-doc").values_list("name", flat=True)
        ) == ["alpha-folder"]
        assert list(
            Folder.objects.exclude(documents__title="beta-doc").values_list("name", flat=True)
        ) == ["alpha-folder"]


@pytest.mark.django_db
def test_joins_platform_access_sees_every_tenant(bookmarks):
    with platform_access("test: joins under platform access"):
        titles = sorted(Bookmark.objects.values_list("document__title", flat=True))
    assert titles == ["alpha-doc", "beta-doc"]
