"""ORM paths that bypass the scoped manager fail closed, on SQLite too (issue 9, class 5),
and explicit primary keys on scoped creates are refused (the create oracle of class 7).

The checks live in checks_orm.py (test_selftest_orm.py proves they fail without the
defences); this module runs them for every scoped model, plus the targeted cases.
"""

import pytest
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from tenancy import sqlguard
from tenancy.context import no_tenant, platform_access, tenant_context
from tenancy.exceptions import (
    ExplicitPrimaryKey,
    TenantContextMissing,
    TenantMismatch,
    UnscopedSQLRefused,
)
from tenancy.models import TenantSetting, scoped_models
from tenancy.models.scoped import InCurrentTenant
from tests.isolation import checks_orm
from tests.scoping_app.models import Bookmark, Document, Folder

MODELS = scoped_models()
IDS = [m._meta.label for m in MODELS]


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_bypassing_paths_with_no_context_raise(model, world):
    checks_orm.check_bypass_no_context_raises(model, world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_bypassing_paths_see_only_the_tenant_in_context(model, world):
    checks_orm.check_bypass_other_tenant_invisible(model, world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_bypassing_writes_stay_in_the_tenant(model, world):
    checks_orm.check_bypass_writes_stay_in_tenant(model, world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_explicit_primary_keys_on_creates_are_refused(model, world):
    checks_orm.check_explicit_pk_creates_refused(model, world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_keys_from_defaults_and_platform_access_are_allowed(model, world):
    checks_orm.check_create_with_default_keys_allowed(model, world)


def test_trimmed_join_checks_cover_every_unscoped_foreign_key():
    fks = checks_orm.unscoped_fks_into_scoped()
    # Only the fixture model points from an unscoped model into a scoped one today; a
    # model that adds such a key needs its own rows in checks_orm.build_bookmarks().
    assert [f"{f.model._meta.label}.{f.name}" for f in fks] == ["scoping_app.Bookmark.document"]


@pytest.mark.django_db
def test_joins_django_would_trim_keep_their_tenant_condition(world):
    checks_orm.check_trimmed_joins_scoped(world)


# --- targeted cases ------------------------------------------------------------------------


@pytest.mark.django_db
def test_refusals_name_the_construct_and_the_fix(world):
    with tenant_context(world.tenant_alpha):
        with pytest.raises(UnscopedSQLRefused) as exc:
            list(Folder.objects.annotate(n=RawSQL("SELECT 1 FROM scoping_app_document", [])))
        assert "RawSQL" in str(exc.value) and "scoping_app_document" in str(exc.value)
        assert "platform_access(reason)" in str(exc.value) and "ORM" in str(exc.value)
        with pytest.raises(UnscopedSQLRefused, match=r"extra\(tables=…\)"):
            list(Folder.objects.extra(tables=['"SCOPING_APP_DOCUMENT"']))
        with pytest.raises(ExplicitPrimaryKey) as exc:
            Folder.objects.create(pk=10**9, name="x")
        assert "platform_access(reason)" in str(exc.value)
        assert isinstance(exc.value, TenantMismatch)  # the API answers 400 tenant_mismatch
    with no_tenant(), pytest.raises(TenantContextMissing, match="no tenant in context"):
        list(QuerySet(model=Folder))


@pytest.mark.django_db
def test_sql_text_naming_only_unscoped_tables_is_untouched(world):
    with no_tenant():
        n = Bookmark.objects.annotate(x=RawSQL("SELECT COUNT(*) FROM tenancy_tenant", [])).count()
        assert n == 0
        assert Bookmark.objects.extra(where=["1 = 1"]).count() == 0
    with tenant_context(world.tenant_alpha):
        # A raw filter on the scoped model's own query is fine when it names no table.
        assert Folder.objects.extra(where=["1 = 1"]).count() == 1


@pytest.mark.django_db
def test_escaped_identifiers_count_as_naming_a_scoped_table(world):
    with tenant_context(world.tenant_alpha), pytest.raises(UnscopedSQLRefused):
        list(Folder.objects.annotate(n=RawSQL('SELECT 1 FROM U&"\\0074enancy_x"', [])))


@pytest.mark.django_db
def test_the_scoped_managers_raw_still_works(world):
    folder_a, folder_b = world.rows[Folder]
    table = connection.ops.quote_name(Folder._meta.db_table)
    with tenant_context(world.tenant_alpha):
        rows = list(Folder.objects.raw(f"SELECT * FROM {table}"))
        assert [r.pk for r in rows] == [folder_a.pk]
        named = list(
            Folder.objects.raw(f"SELECT * FROM {table} WHERE name = %(n)s", {"n": folder_a.name})
        )
        assert [r.pk for r in named] == [folder_a.pk]
        # ...but not replayed in another tenant's context.
        raw = Folder.objects.raw(f"SELECT * FROM {table}")
    with tenant_context(world.tenant_beta), pytest.raises(UnscopedSQLRefused):
        list(raw)


@pytest.mark.django_db
def test_the_guard_leaves_the_callers_query_alone(world):
    qs = QuerySet(model=Folder)
    where_before = str(qs.query.where)
    with tenant_context(world.tenant_alpha):
        assert qs.count() == 1
        assert len(list(qs)) == 1
    assert str(qs.query.where) == where_before
    assert not qs.query.where.children


@pytest.mark.django_db
def test_manager_querysets_take_the_fast_path(world):
    with tenant_context(world.tenant_alpha):
        query = Folder.objects.filter(name="x").query
        assert sqlguard.guard_query(query) is query  # no clone
        joined = Document.objects.filter(folder__name="x").select_related("folder").query
        assert sqlguard.guard_query(joined) is joined
        bare = QuerySet(model=Folder).filter(name="x").query
        guarded = sqlguard.guard_query(bare)
        assert guarded is not bare
        assert isinstance(guarded.where.children[0], InCurrentTenant)


@pytest.mark.django_db
def test_or_with_a_bare_queryset_is_scoped_as_a_whole(world):
    folder_a, folder_b = world.rows[Folder]
    with tenant_context(world.tenant_alpha):
        combined = Folder.objects.filter(pk=folder_a.pk) | QuerySet(model=Folder)
        assert [f.pk for f in combined] == [folder_a.pk]
        either = Folder.objects.filter(Q(pk=folder_a.pk) | Q(pk=folder_b.pk))
        assert [f.pk for f in either] == [folder_a.pk]


@pytest.mark.django_db
def test_scoped_to_scoped_joins_are_still_trimmed(world):
    with tenant_context(world.tenant_alpha), CaptureQueriesContext(connection) as ctx:
        assert Document.objects.filter(folder__isnull=False).count() == 1
        assert Document.objects.filter(folder=world.rows[Folder][0]).count() == 1
    assert not any("JOIN" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.django_db
def test_unscoped_queries_without_scoped_joins_need_no_tenant(world):
    checks_orm.build_bookmarks(world)
    with no_tenant():
        assert Bookmark.objects.count() == 2
        assert Bookmark.objects.filter(user__username="bookmark-owner").count() == 2


@pytest.mark.django_db
def test_exclude_across_a_reverse_relation(world):
    """split_exclude builds a sub-query whose base table is the scoped child: still
    filtered by the join condition pushed into it."""
    folder_a, _ = world.rows[Folder]
    doc_a, _ = world.rows[Document]
    with tenant_context(world.tenant_alpha):
        assert list(Folder.objects.exclude(documents__title=doc_a.title)) == []
        assert [f.pk for f in Folder.objects.exclude(documents__title="nope")] == [folder_a.pk]
        assert [f.pk for f in QuerySet(model=Folder).exclude(documents__title="nope")] == [
            folder_a.pk
        ]


@pytest.mark.django_db
def test_deletes_and_cascades_inside_the_tenant(world):
    folder_a, folder_b = world.rows[Folder]
    with tenant_context(world.tenant_alpha), transaction.atomic():
        folder_a.delete()  # cascades to A's document through sql.DeleteQuery(model)
        assert not Document.objects.exists()
        assert QuerySet(model=Folder).filter(pk=folder_b.pk).delete()[0] == 0
        transaction.set_rollback(True)
    with tenant_context(world.tenant_beta):
        assert Document.objects.count() == 1 and Folder.objects.count() == 1


@pytest.mark.django_db
def test_updates_through_save_check_links_once(world):
    doc_a, _ = world.rows[Document]
    with tenant_context(world.tenant_alpha):
        doc = Document.objects.get(pk=doc_a.pk)
        with CaptureQueriesContext(connection) as ctx:
            doc.title = "renamed"
            doc.save()
    # One look-up of the folder's tenant (save()'s own link check), then the UPDATE.
    assert len(ctx.captured_queries) == 2, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_links_changed_after_the_check_are_checked_at_the_insert(world):
    _, folder_b = world.rows[Folder]
    from django.db.models.signals import pre_save

    def relink(sender, instance, **kwargs):
        instance.folder_id = folder_b.pk

    pre_save.connect(relink, sender=Document)
    try:
        with tenant_context(world.tenant_alpha), pytest.raises(TenantMismatch):
            Document.objects.create(folder=world.rows[Folder][0], title="t")
    finally:
        pre_save.disconnect(relink, sender=Document)


@pytest.mark.django_db
def test_positional_construction_uses_the_default_key(world):
    """Session creation (and from_db) build rows positionally; a positional key of a
    field with a default counts as the default, an auto-increment one as explicit."""
    from tests.security_app.models import SecretNote

    with tenant_context(world.tenant_alpha), transaction.atomic():
        fields = SecretNote._meta.concrete_fields
        note = SecretNote(*[f.get_default() for f in fields])
        note.tenant_id = world.tenant_alpha.pk
        note.body = "positional"
        note.save(force_insert=True)
        with pytest.raises(ExplicitPrimaryKey):
            Folder(10**9, world.tenant_alpha.pk, "positional").save()
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_platform_access_may_restore_rows_with_their_keys(world):
    with platform_access("test: restore a folder with its key"), transaction.atomic():
        Folder.objects.create(pk=10**9, tenant_id=world.tenant_alpha.pk, name="restored")
        QuerySet(model=Folder).bulk_create(
            [Folder(pk=10**9 + 1, tenant_id=world.tenant_beta.pk, name="restored")]
        )
        assert Folder.objects.filter(name="restored").count() == 2
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_setting_upsert_by_tenant_and_key_is_no_explicit_key(world):
    with tenant_context(world.tenant_alpha):
        TenantSetting.objects.bulk_create(
            [TenantSetting(key="k.upsert", value=1)],
            update_conflicts=True,
            unique_fields=["tenant", "key"],
            update_fields=["value"],
        )
        assert TenantSetting.objects.get(key="k.upsert").value == 1
