"""Compile-time guard: every statement the ORM compiles that reaches a tenant-scoped
table is scoped to the tenant in context, or refused.

The scoped manager puts an `InCurrentTenant` leaf into the WHERE clause of the
querysets it builds, and tenancy/joins.py puts the same condition into the ON clause of
joins into scoped tables. Querysets the manager did not build carry no leaf:
`QuerySet(model=Scoped)`, `qs | QuerySet(model=Scoped)` (the leaf ends up under OR),
`Prefetch(queryset=QuerySet(Scoped))`, and Django's own `sql.DeleteQuery(model)` in the
deletion collector. SQL text the ORM passes through (`extra()`, `RawSQL`, `raw()`) is
out of any leaf's reach. On PostgreSQL RLS hid those rows; on SQLite they returned
every tenant's. This module closes them at the one place every statement passes.

Where: `Query.get_compiler()`, wrapped once in `TenancyConfig.ready()`. Every statement
of every backend gets its compiler there: querysets, `update()`/`delete()`
(UpdateQuery/DeleteQuery), inserts (InsertQuery), aggregates (the AggregateQuery's
inner query), sub-queries (`Query.as_sql()` calls `get_compiler()`), each part of a
union, Django's collector and `Model._do_update`. A compiler module of our own
(`DatabaseOperations.compiler_module`) would need a backend subclass per vendor (the
embedded default runs Django's stock SQLite backend) and would see the query only once
the compiler exists; wrapping `get_compiler()` covers any backend without a settings
change and lets the guard hand the compiler a scoped *clone* instead of changing the
caller's query object.

What it does, for the context of that moment (the same moment the leaf binds):

* platform access: nothing (every row is its point; on PostgreSQL the platform role's
  policy still applies);
* SELECT / UPDATE / DELETE: every alias of a scoped table in `query.alias_map` must
  carry a tenant condition: a base table an `InCurrentTenant` leaf on its alias in the
  top-level AND of WHERE (a leaf under OR or NOT does not count), a join the ON
  condition of tenancy/joins.py (its join field is patched). Missing ones get a leaf,
  first in WHERE, on a clone; with no tenant in context that leaf raises
  `TenantContextMissing` when compiled, exactly like the manager's. A LEFT JOIN into a
  scoped table through a relation joins.py does not know is refused (a WHERE leaf would
  change its meaning);
* `extra(tables=…)` naming a scoped table, and `extra(where=/select=/order_by=…)`,
  `RawSQL` and `raw()` (of a queryset the scoped manager did not build) whose SQL names
  one: refused outside platform access (`UnscopedSQLRefused`): the filter cannot be
  put inside text. Names are found case-insensitively, quoted or not; a PostgreSQL
  `U&"…"` identifier cannot be read and counts as naming one;
* INSERT into a scoped table: needs a tenant; every row must name the context's tenant,
  carry no caller-chosen primary key (`ExplicitPrimaryKey`, see
  `tenancy.models.scoped.explicit_pk`), and link only to this tenant's rows.
  `QuerySet(model=…).bulk_create()` no longer skips what `Model.objects` checks;
* UPDATE of a scoped table: may not change the tenant; foreign keys it sets to scoped
  rows are checked like `TenantScopedQuerySet.update()` does (not twice when that, or
  `save()`, already did).

Cost: the common statement (a scoped base table with its leaf, or only unscoped
tables) costs one context read, a dict lookup per alias and a scan of the top-level
WHERE children: about a microsecond. Clones happen only for the constructs above.
"""

from __future__ import annotations

import functools
import re

from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.constants import LOUTER
from django.db.models.sql.query import Query, RawQuery
from django.db.models.sql.subqueries import AggregateQuery, InsertQuery, UpdateQuery
from django.db.models.sql.where import AND, ExtraWhere, WhereNode

from tenancy.context import PlatformAccess, current_var
from tenancy.exceptions import (
    ExplicitPrimaryKey,
    TenantContextMissing,
    TenantMismatch,
    UnscopedSQLRefused,
)
from tenancy.models import scoped as _scoped
from tenancy.models.scoped import InCurrentTenant

FIX = "use the ORM inside tenant_context(tenant), or platform_access(reason)"

# --- scoped tables and their names in SQL text ------------------------------------------


@functools.cache
def scoped_tables() -> dict:
    """db_table -> concrete scoped model, for the tables that hold a `tenant_id` column."""
    tables = {}
    for model in _scoped.scoped_models():
        concrete = model._meta.concrete_model
        if _scoped._tenant_field(concrete).model is concrete:
            tables[concrete._meta.db_table] = concrete
    return tables


@functools.cache
def _name_pattern() -> re.Pattern:
    names = sorted(scoped_tables(), key=len, reverse=True)
    alternatives = [re.escape(name) for name in names]
    # PostgreSQL's U&"\0074enancy_…" spells an identifier with escapes: unreadable here.
    alternatives.append(r"\bU&[\"']")
    return re.compile("|".join(alternatives), re.IGNORECASE)


@functools.lru_cache(maxsize=2048)
def _search(sql: str) -> str | None:
    match = _name_pattern().search(sql)
    return match.group(0) if match else None


def scoped_table_named(sql) -> str | None:
    """The first scoped table name found in `sql` (None if it names none). The same
    texts come back again and again, so answers for short texts are remembered."""
    if not isinstance(sql, str):
        sql = str(sql)
    if len(sql) > 8192:
        return _search.__wrapped__(sql)
    return _search(sql)


def _refuse_text(sql, construct: str) -> None:
    if current_var.get().__class__ is PlatformAccess:
        return
    name = scoped_table_named(sql)
    if name is not None:
        raise UnscopedSQLRefused(
            f"{construct} names the tenant-scoped table {name!r}, which no tenant filter "
            f"can reach inside SQL text: {FIX}"
        )


# --- the guard ---------------------------------------------------------------------------


def guard_query(query):
    """The query to compile: `query` itself, or a clone with the missing tenant leaves.
    Raises for constructs that cannot be scoped."""
    state = current_var.get()
    if state.__class__ is PlatformAccess:
        return query
    if isinstance(query, InsertQuery):
        _check_insert(query, state)
        return query
    if isinstance(query, AggregateQuery) or query.combinator:
        return query  # the inner / combined queries are compiled (and guarded) themselves
    if state is not None and isinstance(query, UpdateQuery) and query.values:
        _check_update(query, state)
    if query.extra_tables:
        for table in query.extra_tables:
            _refuse_text(table, "extra(tables=…)")
    missing = _unscoped_aliases(query)
    return _with_leaves(query, missing) if missing else query


def _unscoped_aliases(query) -> tuple:
    tables = scoped_tables()
    alias_map = query.alias_map
    if not alias_map:
        # A bare Query(model): its base table is added when it is compiled.
        model = query.model
        if model is not None and model._meta.db_table in tables:
            return (None,)
        return ()
    missing = ()
    refcount = query.alias_refcount
    first = True
    for alias, table in alias_map.items():
        if getattr(table, "table_name", None) in tables:
            if table.join_type is None:
                # A base table is in FROM while referenced; the first one also when
                # nothing is (the compiler then references it itself).
                in_from = refcount.get(alias) or (first and not any(refcount.values()))
                if in_from and not _has_leaf(query.where, alias):
                    missing += (alias,)
            elif refcount.get(alias) and not _join_scoped(table.join_field):
                missing += (alias,)
        first = False
    return missing


def _has_leaf(node, alias) -> bool:
    """An InCurrentTenant leaf on `alias` that constrains the whole WHERE clause."""
    if node.negated or (node.connector != AND and len(node.children) > 1):
        return False
    for child in node.children:
        if isinstance(child, InCurrentTenant):
            if getattr(child.lhs, "alias", None) == alias:
                return True
        elif isinstance(child, WhereNode) and _has_leaf(child, alias):
            return True
    return False


def _join_scoped(join_field) -> bool:
    """Does tenancy/joins.py put the tenant condition into this join's ON clause?
    (A reverse join's field is the relation; its foreign key carries the patch.)"""
    if getattr(join_field, "_dim_join_scoped", False):
        return True
    return bool(getattr(getattr(join_field, "field", None), "_dim_join_scoped", False))


def _with_leaves(query, missing: tuple):
    clone = query.clone()
    if missing == (None,):
        missing = (clone.get_initial_alias(),)
    tables = scoped_tables()
    leaves = []
    for alias in missing:
        table = clone.alias_map[alias]
        model = tables[table.table_name]
        if table.join_type == LOUTER:
            raise UnscopedSQLRefused(
                f"LEFT JOIN into tenant-scoped {model._meta.label} through "
                f"{table.join_field!r}, a relation that carries no tenant condition: {FIX}"
            )
        leaves.append(InCurrentTenant(_scoped._tenant_field(model).get_col(alias), True))
    where = clone.where
    if where.connector == AND and not where.negated:
        # First: with no tenant the leaf raises before an empty IN () short-cuts.
        where.children[:0] = leaves
    else:
        clone.where = WhereNode([*leaves, where], AND)
    return clone


def _check_insert(query, state) -> None:
    model = scoped_tables().get(query.get_meta().db_table)
    if model is None:
        return
    label = model._meta.label
    if state is None:
        raise TenantContextMissing(
            f"insert into tenant-scoped {label} with no tenant in context: {FIX}"
        )
    tenant_id = state.id
    pk_attname = model._meta.pk.attname
    pk_given = any(f.attname == pk_attname for f in query.fields)
    has_links = bool(_scoped.scoped_fks(model))
    for obj in query.objs:
        if obj.tenant_id != tenant_id:
            raise TenantMismatch(
                f"insert of a {label} row naming tenant {obj.tenant_id} in the context of "
                f"tenant {state.id}: create rows through {label}.objects"
            )
        if pk_given and _scoped.explicit_pk(obj):
            raise ExplicitPrimaryKey(_scoped.explicit_pk_message(model))
        if has_links:
            _scoped.verify_links(obj, tenant_id)


def _check_update(query, state) -> None:
    model = scoped_tables().get(query.get_meta().db_table)
    if model is None:
        return
    tenant_field = _scoped._tenant_field(model)
    links = _scoped.scoped_fks(model)
    for field, _model, value in query.values:
        if field is tenant_field:
            if getattr(value, "pk", value) != state.id:
                raise TenantMismatch("the tenant of a row cannot be changed")
        elif field in links:
            _scoped.verify_link_value(model, state.id, field, value)


# --- installation ------------------------------------------------------------------------

ORIGINALS: dict = {}


def _get_compiler(self, using=None, connection=None, elide_empty=True):
    return ORIGINALS["Query.get_compiler"](guard_query(self), using, connection, elide_empty)


def _raw_sql_as_sql(self, compiler, connection):
    _refuse_text(self.sql, "RawSQL")
    return ORIGINALS["RawSQL.as_sql"](self, compiler, connection)


def _extra_where_as_sql(self, compiler=None, connection=None):
    _refuse_text(" ".join(self.sqls), "extra(where=…)")
    return ORIGINALS["ExtraWhere.as_sql"](self, compiler, connection)


# Expressions that take SQL text as arguments: `Func(template=…, function=…)` and every
# expression that keeps its keyword arguments in `extra` (Subquery, Case, OrderBy,
# aggregates). Text given per instance is checked like RawSQL; a class's own template
# is code, not data, and stays unchecked.
_TEXT_KEYS = ("template", "function", "arg_joiner")


def _compile(self, node):
    extra = getattr(node, "extra", None)
    if extra and isinstance(extra, dict) and current_var.get().__class__ is not PlatformAccess:
        for key in _TEXT_KEYS:
            text = extra.get(key)
            if isinstance(text, str):
                _refuse_text(text, f"{type(node).__name__}({key}=…)")
    return ORIGINALS["SQLCompiler.compile"](self, node)


def _raw_query_execute(self):
    state = current_var.get()
    if state.__class__ is not PlatformAccess and not _scoped.is_scoped_raw(
        self.sql, self.params, state
    ):
        _refuse_text(self.sql, "raw() outside the scoped manager")
    return ORIGINALS["RawQuery._execute_query"](self)


PATCHES = {
    "Query.get_compiler": (Query, "get_compiler", _get_compiler),
    "RawSQL.as_sql": (RawSQL, "as_sql", _raw_sql_as_sql),
    "ExtraWhere.as_sql": (ExtraWhere, "as_sql", _extra_where_as_sql),
    "RawQuery._execute_query": (RawQuery, "_execute_query", _raw_query_execute),
    "SQLCompiler.compile": (SQLCompiler, "compile", _compile),
}


def install() -> None:
    """Wrap the entry points once (idempotent)."""
    for key, (cls, name, wrapper) in PATCHES.items():
        current = cls.__dict__[name]
        if current is wrapper:
            continue
        ORIGINALS[key] = current
        setattr(cls, name, wrapper)
