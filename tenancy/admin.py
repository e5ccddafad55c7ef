from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from unfold.admin import ModelAdmin

from tenancy import admin_schedules
from tenancy.admin_base import TenantScopedAdmin, tenant_role_at_least
from tenancy.context import get_current_tenant_id
from tenancy.models import Membership, Role, Tenant, TenantSetting


@admin.register(Tenant)
class TenantAdmin(ModelAdmin):
    list_display = ["slug", "name", "state", "tier", "isolation_mode", "created_at"]
    list_filter = ["state", "tier", "isolation_mode"]
    search_fields = ["slug", "name"]
    readonly_fields = ["cache_generation", "created_at", "updated_at"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk=get_current_tenant_id() or 0)

    def has_module_permission(self, request):
        return request.user.is_superuser or tenant_role_at_least(request, Role.VIEWER)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # Tenants are suspended and purged by the lifecycle manager, never deleted here.
        return False


@admin.register(Membership)
class MembershipAdmin(ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("user", "tenant")
        if request.user.is_superuser:
            return qs
        return qs.filter(tenant_id=get_current_tenant_id() or 0)

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else ["role"]

    def has_module_permission(self, request):
        return request.user.is_superuser or tenant_role_at_least(request, Role.ADMIN)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(TenantSetting)
class TenantSettingAdmin(TenantScopedAdmin):
    list_display = ["key", "description", "updated_at"]
    search_fields = ["key", "description"]


# Beat's schedules: platform operators only (tenancy/admin_schedules.py).
admin_schedules.register()


# Groups in the console's theme (unfold's widgets); Django's stock page otherwise.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class ConsoleGroupAdmin(GroupAdmin, ModelAdmin):
    # A plain multiple select: Django's two-pane filter widget puts an aria-label on a
    # bare <span> (a prohibited ARIA attribute, flagged by the console's audit).
    filter_horizontal = ()
