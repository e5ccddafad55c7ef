"""Conformance checks for the ORM paths that bypass the scoped manager (issue 9, class 5)
and for explicit primary keys on scoped creates (class 7's create oracle).

Like tests/isolation/checks.py: plain functions that raise AssertionError, so the
self-test (test_selftest_orm.py) can switch the defences off and prove each one fails.
Every check runs for every scoped model of the registry, with the World of checks.py
(one row per model in tenant A, one in B, same values).
"""

from __future__ import annotations

import uuid

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, prefetch_related_objects
from django.db.models.expressions import RawSQL

from tenancy.context import no_tenant, platform_access, tenant_context
from tenancy.exceptions import (
    ExplicitPrimaryKey,
    TenantContextMissing,
    TenantMismatch,
    UnscopedSQLRefused,
)
from tenancy.models import Tenant, is_tenant_scoped
from tests.isolation.checks import (
    World,
    _copy_values,
    is_append_only,
    noop_update,
    scoped_fks,
)


def bare(model) -> QuerySet:
    """A queryset the scoped manager did not build: no tenant leaf of its own."""
    return QuerySet(model=model)


def _pk_param(model, pk):
    return model._meta.pk.get_db_prep_value(pk, connection)


def _table(model) -> str:
    return model._meta.db_table


def _quoted(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# --- reads through querysets the scoped manager did not build ---------------------------


def bypass_reads(model) -> dict:
    """name -> fn(pk) returning the primary keys it could see."""
    reads = {
        "QuerySet(model)": lambda pk: [o.pk for o in bare(model).filter(pk=pk)],
        "QuerySet(model) all": lambda pk: [o.pk for o in bare(model) if o.pk == pk],
        "QuerySet(model).iterator()": lambda pk: [
            o.pk for o in bare(model).filter(pk=pk).iterator()
        ],
        "QuerySet(model).values_list()": lambda pk: list(
            bare(model).filter(pk=pk).values_list("pk", flat=True)
        ),
        "QuerySet(model).count()": lambda pk: [pk] * bare(model).filter(pk=pk).count(),
        "QuerySet(model).exists()": lambda pk: [pk] if bare(model).filter(pk=pk).exists() else [],
        "QuerySet(model).get()": lambda pk: _get(lambda: bare(model).get(pk=pk)),
        "QuerySet(model).aggregate()": lambda pk: (
            [pk] * bare(model).filter(pk=pk).aggregate(n=Count("pk"))["n"]
        ),
        "QuerySet(model).in_bulk()": lambda pk: list(bare(model).in_bulk([pk])),
        "QuerySet(model).none() | QuerySet(model)": lambda pk: [
            o.pk for o in bare(model).none() | bare(model).filter(pk=pk)
        ],
        "objects | QuerySet(model)": lambda pk: [
            o.pk for o in model.objects.filter(pk=pk) | bare(model).filter(pk=pk)
        ],
        "QuerySet(model) | objects": lambda pk: [
            o.pk for o in bare(model).filter(pk=pk) | model.objects.filter(pk=pk)
        ],
        "union with QuerySet(model)": lambda pk: list(
            model.objects.filter(pk=pk)
            .order_by()
            .values_list("pk", flat=True)
            .union(bare(model).filter(pk=pk).order_by().values_list("pk", flat=True))
        ),
        # The outer query is unscoped; the scoped one is only a sub-query.
        "sub-query QuerySet(model)": lambda pk: (
            [pk]
            * Tenant.objects.filter(pk__in=bare(model).filter(pk=pk).values("tenant_id")).count()
        ),
        "Exists(QuerySet(model))": lambda pk: (
            [pk]
            * Tenant.objects.filter(
                Exists(bare(model).filter(pk=pk, tenant=OuterRef("pk")))
            ).count()
        ),
        "QuerySet(model).select_related('tenant')": lambda pk: [
            o.pk for o in bare(model).select_related("tenant").filter(pk=pk)
        ],
    }
    if not is_append_only(model):
        reads["QuerySet(model).update()"] = lambda pk: (
            [pk] * bare(model).filter(pk=pk).update(**noop_update(model))
        )
    for fk in scoped_fks(model):
        parent = fk.related_model
        accessor = fk.remote_field.get_accessor_name()

        def prefetch_children(pk, fk=fk, accessor=accessor):
            # Both tenants' parents (as instances), so a leak would show.
            parents = [_fresh(p) for p in _world_rows(fk.related_model)]
            prefetch_related_objects(
                parents, Prefetch(accessor, queryset=bare(model), to_attr="dim_children")
            )
            return [c.pk for p in parents for c in p.dim_children if c.pk == pk]

        def prefetch_parent(pk, fk=fk, parent=parent):
            rows = [_fresh(r) for r in _world_rows(model) if r.pk == pk]
            prefetch_related_objects(rows, Prefetch(fk.name, queryset=bare(parent)))
            return [o.pk for o in rows if fk.get_cached_value(o, default=None) is not None]

        reads[f"Prefetch({accessor}, queryset=QuerySet)"] = prefetch_children
        reads[f"Prefetch({fk.name}, queryset=QuerySet)"] = prefetch_parent
        reads[f"QuerySet(model).select_related({fk.name})"] = lambda pk, fk=fk: [
            o.pk for o in bare(model).select_related(fk.name).filter(pk=pk)
        ]
        # A scoped-to-scoped foreign key may be trimmed: the row itself is scoped.
        reads[f"filter({fk.name}__isnull=False)"] = lambda pk, fk=fk: list(
            model.objects.filter(pk=pk, **{f"{fk.name}__isnull": False}).values_list(
                "pk", flat=True
            )
        )
    return reads


_WORLD: dict = {}


def _world_rows(model):
    """The World's rows of `model` (both tenants), set by the checks that use them."""
    return _WORLD[model]


def _fresh(row):
    """An unsaved copy of a row (nothing cached), for prefetches."""
    return type(row)(**{f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields})


def _get(fn):
    try:
        return [fn().pk]
    except models.ObjectDoesNotExist:
        return []


async def _acount(qs):
    return await qs.acount()


def async_bypass_reads(model) -> dict:
    return {
        "QuerySet(model).acount()": lambda pk: (
            [pk] * async_to_sync(_acount)(bare(model).filter(pk=pk))
        ),
    }


def all_bypass_reads(model) -> dict:
    return {**bypass_reads(model), **async_bypass_reads(model)}


# --- SQL text the tenant filter cannot reach ---------------------------------------------


def text_constructs(model) -> dict:
    """name -> fn(pk) returning what the construct found (only reached under platform
    access: elsewhere each must be refused)."""
    table, quoted = _table(model), _quoted(model)
    pk_col = model._meta.pk.column

    def p(pk):
        return _pk_param(model, pk)

    return {
        "extra(tables=…)": lambda pk: (
            [pk]
            if Tenant.objects.extra(
                tables=[table], where=[f"{quoted}.{pk_col} = %s"], params=[p(pk)]
            ).exists()
            else []
        ),
        "extra(tables=…) alone": lambda pk: (
            [pk] if Tenant.objects.extra(tables=[table]).count() > Tenant.objects.count() else []
        ),
        "extra(where=…)": lambda pk: (
            [pk]
            if Tenant.objects.extra(
                where=[f"EXISTS (SELECT 1 FROM {quoted} WHERE {pk_col} = %s)"], params=[p(pk)]
            ).exists()
            else []
        ),
        "extra(select=…)": lambda pk: (
            [pk]
            * Tenant.objects.extra(
                select={"n": f"SELECT COUNT(*) FROM {quoted} WHERE {pk_col} = %s"},
                select_params=[p(pk)],
            )
            .values_list("n", flat=True)
            .first()
        ),
        "extra(where=…) on the scoped model": lambda pk: [
            o.pk for o in model.objects.extra(where=[f"{quoted}.{pk_col} = %s"], params=[p(pk)])
        ],
        "RawSQL annotation": lambda pk: (
            [pk]
            * Tenant.objects.annotate(
                n=RawSQL(f"SELECT COUNT(*) FROM {quoted} WHERE {pk_col} = %s", [p(pk)])
            )
            .values_list("n", flat=True)
            .first()
        ),
        "RawSQL filter": lambda pk: (
            [pk]
            * Tenant.objects.filter(
                pk__in=RawSQL(f"SELECT tenant_id FROM {table.upper()} WHERE {pk_col} = %s", [p(pk)])
            ).count()
        ),
        "QuerySet(model).raw()": lambda pk: [
            o.pk for o in bare(model).raw(f"SELECT * FROM {quoted} WHERE {pk_col} = %s", [p(pk)])
        ],
        "unscoped Manager.raw() naming the table": lambda pk: (
            [pk]
            * len(
                list(
                    Tenant.objects.raw(
                        f"SELECT * FROM tenancy_tenant WHERE id IN "
                        f"(SELECT tenant_id FROM {quoted} WHERE {pk_col} = %s)",
                        [p(pk)],
                    )
                )
            )
        ),
    }


# --- the checks ---------------------------------------------------------------------------


def check_bypass_no_context_raises(model, world: World) -> None:
    """With no tenant, every path that bypasses the scoped manager raises."""
    row_a, _row_b = world.rows[model]
    label = model._meta.label
    _WORLD.update(world.rows)
    with no_tenant():
        ops = {**all_bypass_reads(model), **text_constructs(model)}
        for name, op in ops.items():
            try:
                with transaction.atomic():
                    op(row_a.pk)
            except TenantContextMissing:
                continue
            raise AssertionError(f"{label}: {name} ran with no tenant in context")
        writes = {
            "QuerySet(model).delete()": lambda: bare(model).filter(pk=row_a.pk).delete(),
            "QuerySet(model).bulk_create()": lambda: bare(model).bulk_create(
                [model(**_copy_values(row_a), tenant_id=row_a.tenant_id)]
            ),
        }
        for name, op in writes.items():
            try:
                with transaction.atomic():
                    op()
            except TenantContextMissing:
                continue
            raise AssertionError(f"{label}: {name} ran with no tenant in context")


def check_bypass_other_tenant_invisible(model, world: World) -> None:
    """In A's context every bypassing path sees A's row (positive control) and never
    B's; SQL text naming the scoped table is refused; platform access sees both."""
    row_a, row_b = world.rows[model]
    label = model._meta.label
    _WORLD.update(world.rows)
    with tenant_context(world.tenant_alpha):
        for name, op in all_bypass_reads(model).items():
            with transaction.atomic():
                seen_a = op(row_a.pk)
                seen_b = op(row_b.pk)
                transaction.set_rollback(True)
            if seen_a != [row_a.pk]:
                raise AssertionError(f"{label}: {name} did not see A's own row ({seen_a})")
            if seen_b:
                raise AssertionError(f"{label}: {name} saw B's row {row_b.pk} from A")
        for name, op in text_constructs(model).items():
            try:
                with transaction.atomic():
                    seen = op(row_b.pk)
            except UnscopedSQLRefused:
                continue
            raise AssertionError(f"{label}: {name} ran in A's context (saw {seen})")
        if not is_append_only(model):
            with transaction.atomic():
                deleted, _ = bare(model).filter(pk=row_b.pk).delete()
                transaction.set_rollback(True)
            if deleted:
                raise AssertionError(f"{label}: QuerySet(model).delete() from A removed B's row")
    with platform_access("conformance: SQL text sees every tenant"):
        for name, op in text_constructs(model).items():
            if name == "extra(where=…) on the scoped model":
                continue  # the model's own filter is not bypassed under platform access
            if op(row_b.pk) != [row_b.pk] or op(row_a.pk) != [row_a.pk]:
                raise AssertionError(f"{label}: {name} is broken under platform access")


def check_bypass_writes_stay_in_tenant(model, world: World) -> None:
    """Writes through querysets the scoped manager did not build: the row's tenant, its
    links and the tenant column are checked like Model.objects checks them."""
    row_a, _row_b = world.rows[model]
    label = model._meta.label
    with tenant_context(world.tenant_alpha):
        attempts = {
            "QuerySet(model).bulk_create() naming B": lambda: bare(model).bulk_create(
                [model(**_copy_values(row_a), tenant_id=world.tenant_beta.pk)]
            ),
            "QuerySet(model).bulk_create() naming no tenant": lambda: bare(model).bulk_create(
                [model(**_copy_values(row_a))]
            ),
        }
        if not is_append_only(model):
            attempts["QuerySet(model).update(tenant=B)"] = lambda: (
                bare(model).filter(pk=row_a.pk).update(tenant_id=world.tenant_beta.pk)
            )
        for fk in scoped_fks(model):
            parent_b = world.rows[fk.related_model][1]
            attempts[f"QuerySet(model).update({fk.name}=B's row)"] = lambda fk=fk, p=parent_b: (
                bare(model).filter(pk=row_a.pk).update(**{fk.attname: p.pk})
            )
            linked = {**_copy_values(row_a), fk.attname: parent_b.pk}
            attempts[f"QuerySet(model).bulk_create({fk.name}=B's row)"] = lambda v=linked: bare(
                model
            ).bulk_create([model(**v, tenant_id=world.tenant_alpha.pk)])
        for name, op in attempts.items():
            try:
                with transaction.atomic():
                    op()
            except TenantMismatch:
                continue
            except IntegrityError as exc:
                raise AssertionError(f"{label}: {name} reached the database: {exc}") from None
            raise AssertionError(f"{label}: {name} was accepted")


def free_pk(model, world: World):
    """A primary key no row of any tenant has."""
    field = model._meta.pk
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.CharField):
        return uuid.uuid4().hex[: field.max_length]
    with platform_access("conformance: highest key of the table"):
        top = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
    return top + 1000


def explicit_pk_creates(model, row_a) -> dict:
    """name -> fn(pk): every create path, given a primary key by the caller."""
    non_pk = _copy_values(row_a)
    defaults = dict(non_pk)

    async def acreate(pk):
        return await model.objects.acreate(pk=pk, **non_pk)

    creates = {
        "objects.create(pk=…)": lambda pk: model.objects.create(pk=pk, **non_pk),
        "Model(pk=…).save()": lambda pk: model(pk=pk, **non_pk).save(),
        "Model(id=…).save(force_insert=True)": lambda pk: model(
            **{model._meta.pk.attname: pk}, **non_pk
        ).save(force_insert=True),
        "Model().pk = …; save()": lambda pk: _assign_and_save(model, pk, non_pk),
        "get_or_create(pk=…)": lambda pk: model.objects.get_or_create(pk=pk, defaults=defaults),
        "update_or_create(pk=…)": lambda pk: model.objects.update_or_create(
            pk=pk, defaults=defaults
        ),
        "bulk_create([Model(pk=…)])": lambda pk: model.objects.bulk_create(
            [model(pk=pk, **non_pk)]
        ),
        "bulk_create(ignore_conflicts=True)": lambda pk: model.objects.bulk_create(
            [model(pk=pk, **non_pk)], ignore_conflicts=True
        ),
        "QuerySet(model).bulk_create([Model(pk=…)])": lambda pk: bare(model).bulk_create(
            [model(pk=pk, tenant_id=row_a.tenant_id, **non_pk)]
        ),
        "acreate(pk=…)": lambda pk: async_to_sync(acreate)(pk),
    }
    if is_append_only(model):
        # SELECT … FOR UPDATE needs the UPDATE privilege append-only tables do not grant.
        del creates["update_or_create(pk=…)"]
    return creates


def _assign_and_save(model, pk, values):
    obj = model(**values)
    obj.pk = pk
    obj.save()


def check_explicit_pk_creates_refused(model, world: World) -> None:
    """In A's context, creating a row with a caller-chosen primary key is refused the
    same way whether the key is B's or free: no duplicate-key error tells them apart.
    Positive controls: creates without a key, and get_or_create/update_or_create that
    find A's own row, still work."""
    row_a, row_b = world.rows[model]
    label = model._meta.label
    with tenant_context(world.tenant_alpha):
        for name, op in explicit_pk_creates(model, row_a).items():
            for what, pk in (("B's key", row_b.pk), ("a free key", free_pk(model, world))):
                try:
                    with transaction.atomic():
                        op(pk)
                        transaction.set_rollback(True)
                except ExplicitPrimaryKey:
                    continue
                except IntegrityError as exc:
                    raise AssertionError(
                        f"{label}: {name} with {what} answered with a database error "
                        f"(an existence oracle): {exc}"
                    ) from None
                raise AssertionError(f"{label}: {name} with {what} was accepted")
        with transaction.atomic():
            if not is_append_only(model):
                obj, created = model.objects.get_or_create(pk=row_a.pk)
                if created or obj.pk != row_a.pk:
                    raise AssertionError(f"{label}: get_or_create of A's own key is broken")
                obj, created = model.objects.update_or_create(pk=row_a.pk, defaults={})
                if created or obj.pk != row_a.pk:
                    raise AssertionError(f"{label}: update_or_create of A's own key is broken")
                loaded = model.objects.get(pk=row_a.pk)
                loaded.save()  # an update of a loaded row is no create
            transaction.set_rollback(True)


def check_create_with_default_keys_allowed(model, world: World) -> None:
    """Positive control: keys the field default or the database choose are fine, through
    create(), save() and bulk_create(); platform access may choose keys."""
    row_a, _row_b = world.rows[model]
    label = model._meta.label
    with tenant_context(world.tenant_alpha), transaction.atomic():
        for name, op in {
            "create()": lambda: model.objects.create(**_copy_values(row_a)),
            "bulk_create()": lambda: model.objects.bulk_create([model(**_copy_values(row_a))]),
            "copy with pk=None": lambda: _copy_with_reset_pk(model, row_a),
        }.items():
            try:
                with transaction.atomic():
                    op()
            except ExplicitPrimaryKey as exc:
                raise AssertionError(f"{label}: {name} without a caller's key refused: {exc}")
            except IntegrityError:
                pass  # a unique constraint of the model, not the key check
        transaction.set_rollback(True)
    with platform_access("conformance: restore with explicit keys"), transaction.atomic():
        pk = free_pk(model, world)
        try:
            with transaction.atomic():
                obj = model(pk=pk, tenant_id=world.tenant_alpha.pk, **_copy_values(row_a))
                obj.save(force_insert=True)
        except ExplicitPrimaryKey as exc:
            raise AssertionError(f"{label}: platform access may choose keys: {exc}")
        except (IntegrityError, TenantContextMissing):
            pass  # a unique constraint, or a field that needs a tenant (encryption)
        transaction.set_rollback(True)


def _copy_with_reset_pk(model, row):
    obj = model.objects.get(pk=row.pk)
    obj.pk = None
    obj._state.adding = True
    obj.save()


# --- trimmed joins from unscoped models into scoped ones ----------------------------------


def unscoped_fks_into_scoped() -> list:
    """Every foreign key of an unscoped model that points at a scoped model."""
    from django.apps import apps

    return [
        f
        for m in apps.get_models(include_auto_created=True)
        if not is_tenant_scoped(m)
        for f in m._meta.concrete_fields
        if f.many_to_one and is_tenant_scoped(f.related_model)
    ]


def build_bookmarks(world: World):
    """One Bookmark (unscoped) on A's document and one on B's."""
    from tests.scoping_app.models import Bookmark, Document

    user, _ = get_user_model().objects.get_or_create(username="bookmark-owner")
    doc_a, doc_b = world.rows[Document]
    return user, (
        Bookmark.objects.create(user=user, document_id=doc_a.pk),
        Bookmark.objects.create(user=user, document_id=doc_b.pk),
    )


def trimmed_join_reads(user):
    """name -> fn() returning the document ids it reveals, through queries whose join
    into the scoped table Django would trim."""
    from tests.scoping_app.models import Bookmark, Document

    User = get_user_model()
    return {
        "filter(document__isnull=False)": lambda: list(
            Bookmark.objects.filter(document__isnull=False).values_list("document", flat=True)
        ),
        "values('document')": lambda: [r["document"] for r in Bookmark.objects.values("document")],
        "values_list('document_id')": lambda: list(
            Bookmark.objects.values_list("document_id", flat=True)
        ),
        "filter(document__in=…)": lambda: list(
            Bookmark.objects.filter(document__in=_all_doc_ids()).values_list(
                "document_id", flat=True
            )
        ),
        "Count('bookmark__document')": lambda: list(
            _count_ids(
                User.objects.filter(pk=user.pk).annotate(n=Count("bookmark__document")),
                "n",
            )
        ),
        "aggregate(Count('document'))": lambda: list(
            _count_ids([Bookmark.objects.aggregate(n=Count("document"))], "n")
        ),
        "exists() of filter(document=…)": lambda: [
            d for d in _all_doc_ids() if Bookmark.objects.filter(document=d).exists()
        ],
        "Prefetch('document', queryset=QuerySet(Document))": lambda: [
            b._state.fields_cache["document"].pk
            for b in Bookmark.objects.prefetch_related(
                Prefetch("document", queryset=bare(Document))
            )
            if b._state.fields_cache["document"] is not None
        ],
    }


def _all_doc_ids():
    from tests.scoping_app.models import Document

    with platform_access("conformance: every document id"):
        return list(Document.objects.order_by("pk").values_list("pk", flat=True))


def _count_ids(rows, key):
    """A count, as a list of that many markers (so 'more than A's' is visible)."""
    for row in rows:
        n = row[key] if isinstance(row, dict) else getattr(row, key)
        yield from ["row"] * n


def check_trimmed_joins_scoped(world: World) -> None:
    """A join from an unscoped model into a scoped one that Django would trim keeps its
    tenant condition: in A only A's ids (positive control: A's are there), with no
    tenant a refusal, under platform access every tenant's."""
    from tests.scoping_app.models import Document

    doc_a, doc_b = world.rows[Document]
    user, _ = build_bookmarks(world)
    with tenant_context(world.tenant_alpha):
        for name, op in trimmed_join_reads(user).items():
            seen = op()
            if doc_b.pk in seen or len(seen) != 1:
                raise AssertionError(f"{name}: from A it revealed {seen} (B's id is {doc_b.pk})")
    with no_tenant():
        for name, op in trimmed_join_reads(user).items():
            try:
                op()
            except TenantContextMissing:
                continue
            raise AssertionError(f"{name} ran with no tenant in context")
    with platform_access("conformance: trimmed joins under platform access"):
        for name, op in trimmed_join_reads(user).items():
            if len(op()) != 2:
                raise AssertionError(f"{name}: broken under platform access")
