"""The conformance checks, as plain functions that raise AssertionError.

They are plain functions (not only tests) so that the self-test can run them with
scoping switched off and prove that they then fail: the suite cannot pass vacuously.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.db import connection, models, transaction
from django.db.models import Count, F

from tenancy.context import no_tenant, tenant_context
from tenancy.exceptions import AppendOnlyViolation, TenantContextMissing, TenantMismatch
from tenancy.models import Tenant, is_tenant_scoped, scoped_models
from tests.isolation.factories import row_for


@dataclass
class World:
    tenant_alpha: Tenant
    tenant_beta: Tenant
    rows: dict = field(default_factory=dict)  # model -> (row in A, row in B)


def build_world(tenant_alpha: Tenant, tenant_beta: Tenant) -> World:
    world = World(tenant_alpha, tenant_beta)
    caches = {tenant_alpha.pk: {}, tenant_beta.pk: {}}
    for model in scoped_models():
        pair = []
        for tenant in (tenant_alpha, tenant_beta):
            with tenant_context(tenant):
                pair.append(row_for(model, caches[tenant.pk]))
        world.rows[model] = tuple(pair)
    return world


def scoped_fks(model):
    return [
        f
        for f in model._meta.concrete_fields
        if f.many_to_one and f.name != "tenant" and is_tenant_scoped(f.related_model)
    ]


def noop_update(model) -> dict:
    for f in model._meta.concrete_fields:
        if not f.primary_key and f.name != "tenant" and f not in scoped_fks(model):
            return {f.attname: F(f.attname)}
    f = scoped_fks(model)[0]
    return {f.attname: F(f.attname)}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def sync_reads(model):
    """name -> fn(pk) returning the primary keys it could see."""
    qs = model.objects.all()
    return {
        "iterate": lambda pk: [o.pk for o in qs.filter(pk=pk)],
        "iterator": lambda pk: [o.pk for o in qs.filter(pk=pk).iterator()],
        "values": lambda pk: [r["pk"] for r in qs.filter(pk=pk).values("pk")],
        "values_list": lambda pk: list(qs.filter(pk=pk).values_list("pk", flat=True)),
        "count": lambda pk: [pk] * qs.filter(pk=pk).count(),
        "exists": lambda pk: [pk] if qs.filter(pk=pk).exists() else [],
        "get": lambda pk: _get(lambda: qs.get(pk=pk)),
        "first": lambda pk: [o.pk for o in [qs.filter(pk=pk).first()] if o],
        "last": lambda pk: [o.pk for o in [qs.filter(pk=pk).order_by("pk").last()] if o],
        "aggregate": lambda pk: [pk] * qs.filter(pk=pk).aggregate(n=Count("pk"))["n"],
        "in_bulk": lambda pk: list(qs.in_bulk([pk])),
        "base_manager": lambda pk: [o.pk for o in model._base_manager.filter(pk=pk)],
        # The outer query is unscoped (tenants), the scoped one is only a sub-query. It
        # runs on the scoped rows' database (a dedicated tenant's holds its Tenant row
        # too): Django runs a sub-query on its outer query's database.
        "subquery": lambda pk: (
            [pk]
            * Tenant.objects.using(qs.db)
            .filter(pk__in=qs.filter(pk=pk).values("tenant_id"))
            .count()
        ),
        "union": lambda pk: list(
            qs.filter(pk=pk)
            .order_by()
            .values_list("pk", flat=True)
            .union(qs.filter(pk=pk).order_by().values_list("pk", flat=True))
        ),
        "raw": lambda pk: [
            o.pk
            for o in model.objects.raw(
                f"SELECT * FROM {_table(model)} WHERE {model._meta.pk.column} = %s",
                [model._meta.pk.get_db_prep_value(pk, connection)],
            )
        ],
        "update": lambda pk: [pk] * qs.filter(pk=pk).update(**noop_update(model)),
    }


def _get(fn):
    try:
        return [fn().pk]
    except models.ObjectDoesNotExist:
        return []


def async_reads(model):
    qs = model.objects.all()

    async def aiterator(pk):
        return [o.pk async for o in qs.filter(pk=pk).aiterator()]

    async def async_for(pk):
        return [o.pk async for o in qs.filter(pk=pk)]

    async def acount(pk):
        return [pk] * await qs.filter(pk=pk).acount()

    async def aexists(pk):
        return [pk] if await qs.filter(pk=pk).aexists() else []

    async def aget(pk):
        try:
            return [(await qs.aget(pk=pk)).pk]
        except model.DoesNotExist:
            return []

    async def afirst(pk):
        obj = await qs.filter(pk=pk).afirst()
        return [obj.pk] if obj else []

    async def alast(pk):
        obj = await qs.filter(pk=pk).order_by("pk").alast()
        return [obj.pk] if obj else []

    async def aaggregate(pk):
        return [pk] * (await qs.filter(pk=pk).aaggregate(n=Count("pk")))["n"]

    async def ain_bulk(pk):
        return list(await qs.ain_bulk([pk]))

    async def aupdate(pk):
        return [pk] * await qs.filter(pk=pk).aupdate(**noop_update(model))

    async def avalues(pk):
        return [r["pk"] async for r in qs.filter(pk=pk).values("pk")]

    fns = [aiterator, async_for, acount, aexists, aget, afirst, alast, aaggregate, ain_bulk]
    fns += [aupdate, avalues]
    return {f.__name__: (lambda pk, f=f: async_to_sync(f)(pk)) for f in fns}


def is_append_only(model) -> bool:
    return bool(getattr(model, "append_only", False))


def all_reads(model):
    reads = {**sync_reads(model), **async_reads(model)}
    if is_append_only(model):
        # update() is how the other models prove a write reaches only visible rows; an
        # append-only model refuses it outright (checked below), so it is no read here.
        reads.pop("update")
        reads.pop("aupdate")
    return reads


# --- the checks ---------------------------------------------------------------------


def check_no_context_raises(model, world: World) -> None:
    row_a, _row_b = world.rows[model]
    label = model._meta.label
    with no_tenant():
        for name, op in all_reads(model).items():
            try:
                op(row_a.pk)
            except TenantContextMissing:
                continue
            raise AssertionError(f"{label}: {name} ran with no tenant in context")
        writes = {
            "explain": lambda: model.objects.filter(pk=row_a.pk).explain(),
            "delete": lambda: model.objects.filter(pk=row_a.pk).delete(),
            "instance delete": lambda: row_a.delete(),
            "refresh_from_db": lambda: row_a.refresh_from_db(),
            "save": lambda: row_a.save(),
            "create": lambda: model(**_copy_values(row_a)).save(),
            "bulk_create": lambda: model.objects.bulk_create([model(**_copy_values(row_a))]),
        }
        for name, op in writes.items():
            try:
                with transaction.atomic():
                    op()
            except TenantContextMissing:
                continue
            raise AssertionError(f"{label}: {name} ran with no tenant in context")
        for fk in scoped_fks(model):
            row_a._state.fields_cache.pop(fk.name, None)
            try:
                getattr(row_a, fk.name)
            except TenantContextMissing:
                pass
            else:
                raise AssertionError(f"{label}.{fk.name}: forward FK loaded with no tenant")
            parent = world.rows[fk.related_model][0]
            accessor = fk.remote_field.get_accessor_name()
            try:
                list(getattr(parent, accessor).all())
            except TenantContextMissing:
                pass
            else:
                raise AssertionError(f"{label}: related manager {accessor} ran with no tenant")


def _copy_values(row) -> dict:
    return {
        f.attname: getattr(row, f.attname)
        for f in row._meta.concrete_fields
        if not f.primary_key and f.name != "tenant"
    }


def check_other_tenant_invisible(model, world: World) -> None:
    """In A's context every read API sees A's row (positive control) and never B's."""
    row_a, row_b = world.rows[model]
    label = model._meta.label
    with tenant_context(world.tenant_alpha):
        for name, op in all_reads(model).items():
            seen_a = op(row_a.pk)
            if seen_a != [row_a.pk]:
                raise AssertionError(f"{label}: {name} did not see A's own row ({seen_a})")
            seen_b = op(row_b.pk)
            if seen_b:
                raise AssertionError(f"{label}: {name} saw B's row {row_b.pk} from A")
        all_pks = set(model.objects.values_list("pk", flat=True))
        if row_b.pk in all_pks or row_a.pk not in all_pks:
            raise AssertionError(f"{label}: full listing in A is wrong")
        if is_append_only(model):
            for name, op in {
                "delete()": lambda: model.objects.filter(pk=row_b.pk).delete(),
                "update()": lambda: model.objects.filter(pk=row_a.pk).update(**noop_update(model)),
                "instance delete": lambda: model.objects.get(pk=row_a.pk).delete(),
            }.items():
                try:
                    with transaction.atomic():
                        op()
                except AppendOnlyViolation:
                    continue
                raise AssertionError(f"{label}: append-only, but {name} was accepted")
        else:
            deleted, _ = model.objects.filter(pk=row_b.pk).delete()
            if deleted:
                raise AssertionError(f"{label}: delete() from A removed B's row")
        for fk in scoped_fks(model):
            parent_a, parent_b = world.rows[fk.related_model]
            row = model.objects.get(pk=row_a.pk)
            if getattr(row, fk.name).pk != parent_a.pk:
                raise AssertionError(f"{label}.{fk.name}: forward FK broken in A")
            accessor = fk.remote_field.get_accessor_name()
            children = set(getattr(parent_a, accessor).values_list("pk", flat=True))
            if row_a.pk not in children or row_b.pk in children:
                raise AssertionError(f"{label}: related manager {accessor} is wrong in A")
            if list(getattr(parent_b, accessor).all()):
                raise AssertionError(f"{label}: B's parent lists children from A")
            parents = list(fk.related_model.objects.prefetch_related(accessor))
            prefetched = {c.pk for p in parents for c in getattr(p, accessor).all()}
            if row_b.pk in prefetched or row_a.pk not in prefetched:
                raise AssertionError(f"{label}: prefetch of {accessor} leaked or lost rows")
            if model.objects.filter(**{fk.name: parent_b.pk}).exists():
                raise AssertionError(f"{label}: filtering on B's parent found rows in A")
    with tenant_context(world.tenant_beta):
        if not model.objects.filter(pk=row_b.pk).exists():
            raise AssertionError(f"{label}: B's row was lost by A's writes")


def check_writes_naming_other_tenant_fail(model, world: World) -> None:
    row_a, _row_b = world.rows[model]
    label = model._meta.label
    with tenant_context(world.tenant_alpha):
        attempts = {
            "create naming B": lambda: model(
                **_copy_values(row_a), tenant_id=world.tenant_beta.pk
            ).save(),
            "move row to B": lambda: _move(model, row_a.pk, world.tenant_beta.pk),
            "update tenant": lambda: model.objects.filter(pk=row_a.pk).update(
                tenant_id=world.tenant_beta.pk
            ),
            "bulk_create naming B": lambda: model.objects.bulk_create(
                [model(**_copy_values(row_a), tenant_id=world.tenant_beta.pk)]
            ),
        }
        for fk in scoped_fks(model):
            parent_b = world.rows[fk.related_model][1]
            attempts[f"link {fk.name} to B (save)"] = lambda fk=fk, p=parent_b: _relink(
                model, row_a.pk, fk, p.pk
            )
            attempts[f"link {fk.name} to B (update)"] = lambda fk=fk, p=parent_b: (
                model.objects.filter(pk=row_a.pk).update(**{fk.attname: p.pk})
            )
        for name, op in attempts.items():
            try:
                with transaction.atomic():
                    op()
            except (TenantMismatch, TenantContextMissing):
                continue
            raise AssertionError(f"{label}: {name} was accepted")
        # Positive control: the same kinds of write inside A succeed (an append-only
        # model refuses to change a row even in its own tenant).
        with transaction.atomic():
            obj = model.objects.get(pk=row_a.pk)
            if is_append_only(model):
                try:
                    obj.save()
                except AppendOnlyViolation:
                    pass
                else:
                    raise AssertionError(f"{label}: append-only, but a row was changed")
            else:
                obj.save()
            for fk in scoped_fks(model):
                _relink(model, row_a.pk, fk, world.rows[fk.related_model][0].pk)
            transaction.set_rollback(True)


def _move(model, pk, tenant_id):
    obj = model.objects.get(pk=pk)
    obj.tenant_id = tenant_id
    obj.save()


def _relink(model, pk, fk, target_pk):
    obj = model.objects.get(pk=pk)
    setattr(obj, fk.attname, target_pk)
    obj.save()
