"""Copy a tenant's rows of every tenant-scoped table to another database, as they are
stored (raw column values: sealed fields stay sealed), parents before children, then
check the counts. The first half of a move; used when a tenant becomes dedicated.

Links to platform rows other than the tenant (users, content types: rows of the default
database only) are unconstrained (`db_constraint=False`: one database cannot enforce a
relation to another), so their raw ids are copied as they are. A link that still had a
database constraint could not be satisfied in a dedicated database: a tenant holding
such rows is refused before anything is written (connection_mgr/tests/test_platform_links.py asserts
no tenant-scoped model has one today).
"""

from __future__ import annotations

from django.db import connections, transaction

from tenancy.context import tenant_context
from tenancy.models.scoped import scoped_models
from tenancy.rls_names import ident


class CannotCopy(Exception):
    pass


def _ordered(models):
    """Parents first (foreign keys between scoped tables)."""
    remaining = list(models)
    done: list = []
    while remaining:
        for model in remaining:
            parents = {
                f.related_model
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model in remaining and f.related_model is not model
            }
            if not parents:
                done.append(model)
                remaining.remove(model)
                break
        else:
            done.extend(remaining)  # a cycle: the database's deferred checks decide
            break
    return done


def platform_links(model):
    """Links of a tenant-scoped model to platform rows (not the tenant's own rows)."""
    return [
        f
        for f in model._meta.concrete_fields
        if f.is_relation and f.name != "tenant" and not hasattr(f.related_model, "tenant_id")
    ]


def constrained_platform_links(model) -> list[str]:
    """Platform links the database enforces: rows holding one cannot leave the default."""
    return [f.name for f in platform_links(model) if f.db_constraint]


def copy_tenant_rows(tenant, source: str, target: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with tenant_context(tenant):
        models = [m for m in _ordered(scoped_models()) if not m._meta.proxy]
        for model in models:
            links = constrained_platform_links(model)
            if links and model.objects.using(source).exists():
                raise CannotCopy(
                    f"{model._meta.label} rows point at platform rows with a database "
                    f"constraint ({', '.join(links)}); they cannot leave the default database."
                )
        with transaction.atomic(using=target):
            for model in models:
                counts[model._meta.db_table] = _copy_table(model, source, target, tenant.pk)
    return counts


def _adapt(model, rows, vendor: str):
    if vendor != "postgresql":
        return rows
    from psycopg.types.json import Jsonb

    json_at = [
        i for i, f in enumerate(model._meta.concrete_fields) if f.get_internal_type() == "JSONField"
    ]
    if not json_at:
        return rows
    adapted = []
    for row in rows:
        row = list(row)
        for i in json_at:
            if row[i] is not None:
                row[i] = Jsonb(row[i])
        adapted.append(row)
    return adapted


def _copy_table(model, source: str, target: str, tenant_id: int) -> int:
    table = ident(model._meta.db_table)
    columns = [f.column for f in model._meta.concrete_fields]
    names = ", ".join(ident(c) for c in columns)
    with connections[source].cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {table} WHERE tenant_id = %s", [tenant_id])
        rows = cursor.fetchall()
    if not rows:
        return 0
    marks = ", ".join(["%s"] * len(columns))
    with connections[target].cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",
            _adapt(model, rows, connections[target].vendor),
        )
        cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id])
        copied = cursor.fetchone()[0]
        if copied < len(rows):
            raise CannotCopy(f"{model._meta.db_table}: {copied} rows arrived of {len(rows)}")
        pk = model._meta.pk
        if connections[target].vendor == "postgresql" and pk.get_internal_type() in (
            "AutoField",
            "BigAutoField",
        ):
            highest = f"(SELECT max({ident(pk.column)}) FROM {table})"
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), {highest})",
                [model._meta.db_table, pk.column],
            )
    return len(rows)
