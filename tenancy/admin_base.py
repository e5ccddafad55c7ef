"""Admin base for tenant-scoped models.

Superusers see every tenant (the console runs them under the recorded platform escape
hatch unless they picked a tenant) with a tenant column and filter. A tenant's staff see
their tenant only: the queryset is the scoped manager's, so lists, change and delete
pages, search, autocomplete and foreign-key choices cannot reach another tenant's rows,
and a foreign id answers "does not exist" exactly like a missing one.
"""

from __future__ import annotations

from django.contrib import admin

from tenancy.context import get_current_tenant_id, in_platform_access
from tenancy.models import ROLE_RANK, Role


def _role(request) -> str | None:
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


def tenant_role_at_least(request, minimum: str) -> bool:
    if request.user.is_superuser:
        return True
    role = _role(request)
    return (
        role is not None
        and get_current_tenant_id() is not None
        and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]
    )


class TenantScopedAdmin(admin.ModelAdmin):
    view_role = Role.VIEWER
    edit_role = Role.ADMIN

    def _in_scope(self, request) -> bool:
        return get_current_tenant_id() is not None or (
            request.user.is_superuser and in_platform_access()
        )

    def has_module_permission(self, request):
        return self._in_scope(request) and tenant_role_at_least(request, self.view_role)

    def has_view_permission(self, request, obj=None):
        return self._in_scope(request) and tenant_role_at_least(request, self.view_role)

    def has_change_permission(self, request, obj=None):
        return self._in_scope(request) and tenant_role_at_least(request, self.edit_role)

    def has_delete_permission(self, request, obj=None):
        return self._in_scope(request) and tenant_role_at_least(request, self.edit_role)

    def has_add_permission(self, request):
        # Adding needs a tenant to put the row in: not available under platform access.
        return get_current_tenant_id() is not None and tenant_role_at_least(request, self.edit_role)

    def get_ordering(self, request):
        # Stable pages (and autocomplete pages) for models without Meta.ordering.
        return super().get_ordering(request) or self.model._meta.ordering or ["pk"]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if in_platform_access() and "tenant" not in columns:
            columns.insert(1 if columns else 0, "tenant")
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if in_platform_access() and "tenant" not in filters:
            filters.insert(0, "tenant")
        return filters

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and "tenant" not in fields:
            fields.insert(0, "tenant")
        return fields
