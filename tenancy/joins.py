"""Tenant conditions on JOINs into scoped tables.

The scoped manager filters the *base* table of a query. A query that reaches a scoped
table through a join — `Bookmark.objects.select_related("document")`,
`values("document__title")`, `filter(document__title=...)`, a reverse join from a parent,
a many-to-many through table — would otherwise join it unfiltered, and with no tenant in
context it would not fail closed. Django's hook for extra join conditions
(`get_extra_restriction`, the one GenericRelation uses) lets every foreign key that
touches a scoped model add `<scoped alias>.tenant_id = <tenant in context>` to the ON
clause, compiled like the manager's leaf: the context's tenant, nothing under platform
access, `TenantContextMissing` with no tenant.

Trimmed joins. Django drops a forward join whose only use is the foreign key's target
column, reading the column on the near side instead: `Bookmark.objects.filter(
document__isnull=False)`, `values("document")`, `filter(document=…)`,
`Count("bookmark__document")` never join the document table, so no ON condition
applies. Between two scoped models that is harmless (the near row is itself scoped, and
writes keep its foreign keys inside its tenant). From an *unscoped* model the column is
a list of every tenant's ids: those queries returned and counted other tenants' rows.
We keep such joins (`keep_scoped_joins()`): Django's `trim_joins()` stops at a path step
from an unscoped model into a scoped one, as it already does for a FilteredRelation, so
the join and its ON condition stay. The alternatives were worse: refusing would break
every such filter, and masking the column means rewriting expressions. What remains
readable is the unscoped row's own column when the row itself is loaded
(`bookmark.document_id`); following it (`bookmark.document`) is scoped. Cost: one join
on those queries; queries from scoped models are trimmed as before.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import ForeignObject
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, WhereNode

from tenancy.models.scoped import InCurrentTenant, is_tenant_scoped


def _tenant_condition(model, alias: str) -> InCurrentTenant:
    return InCurrentTenant(model._meta.get_field("tenant").get_col(alias), True)


def _restriction_for(field):
    original = field.get_extra_restriction
    target = field.related_model
    holder = field.model

    def get_extra_restriction(alias, related_alias):
        # `alias` is the target model's table, `related_alias` the holder's (both
        # directions of the join reach here with that convention; alias may be None
        # when Django pushes an exclude() down into a sub-query).
        conditions = []
        inherited = original(alias, related_alias)
        if inherited:
            conditions.append(inherited)
        if alias is not None and is_tenant_scoped(target):
            conditions.append(_tenant_condition(target, alias))
        if related_alias is not None and is_tenant_scoped(holder) and field.name != "tenant":
            conditions.append(_tenant_condition(holder, related_alias))
        if not conditions:
            return None
        return WhereNode(conditions, connector=AND)

    return get_extra_restriction


def install() -> int:
    """Give every relation that touches a scoped model the tenant join condition."""
    installed = 0
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.local_fields:
            if not isinstance(field, ForeignObject) or field.name == "tenant":
                continue
            if is_tenant_scoped(field.related_model) or is_tenant_scoped(model):
                if getattr(field, "_dim_join_scoped", False):
                    continue
                field.get_extra_restriction = _restriction_for(field)
                field._dim_join_scoped = True
                installed += 1
    return installed


# A true value where Django's trim_joins() looks for a FilteredRelation: "do not trim".
_KEEP = "dim: join into a tenant-scoped table kept for its ON condition"
_original_trim_joins = None


def keeps_join(info) -> bool:
    """A forward path step from an unscoped model into a scoped one: never trimmed."""
    return (
        info.direct
        and is_tenant_scoped(info.to_opts.model)
        and not is_tenant_scoped(info.from_opts.model)
    )


def _trim_joins(self, targets, joins, path):
    if path and any(keeps_join(info) for info in path):
        path = [
            info._replace(filtered_relation=_KEEP) if keeps_join(info) else info for info in path
        ]
    return _original_trim_joins(self, targets, joins, path)


def keep_scoped_joins() -> None:
    """Wrap Query.trim_joins once (idempotent)."""
    global _original_trim_joins
    if Query.__dict__["trim_joins"] is _trim_joins:
        return
    _original_trim_joins = Query.__dict__["trim_joins"]
    Query.trim_joins = _trim_joins
