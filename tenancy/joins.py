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
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import ForeignObject
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
