"""Console admin: tier policies (platform operators edit them: "editable" tiers), the
tenants' lifecycles (read only: they change only through transitions, see the Lifecycle
page) and legal holds (read only here; placed and released through their actions so
both audit logs record it)."""

from django.contrib import admin
from django.db import transaction
from unfold.admin import ModelAdmin

from audit_mgr.actions import record_platform_event
from lifecycle_mgr.models import LegalHold, TenantLifecycle, TierPolicy
from tenancy.context import platform_access


class OperatorsOnly(ModelAdmin):
    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TierPolicy)
class TierPolicyAdmin(OperatorsOnly):
    list_display = [
        "name",
        "title",
        "max_users",
        "max_sessions",
        "max_metadata_records",
        "max_metric_samples_per_day",
        "max_api_requests_per_minute",
        "default_security_level",
        "isolation_mode",
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        # Tiers are platform rows: written under the platform claim only (rls_platform).
        actor = request.user.get_username()
        with platform_access(f"admin: edit tier {obj.name}", actor=actor), transaction.atomic():
            super().save_model(request, obj, form, change)
            record_platform_event(
                "lifecycle.tier_edited",
                {"tier": obj.name, "changed": sorted(form.changed_data)},
                actor=request.user.get_username(),
            )


@admin.register(TenantLifecycle)
class TenantLifecycleAdmin(OperatorsOnly):
    list_display = ["tenant", "state", "policy", "state_changed_at"]
    list_filter = ["state", "policy"]


@admin.register(LegalHold)
class LegalHoldAdmin(OperatorsOnly):
    list_display = ["tenant", "user", "reason", "placed_by", "placed_at", "released_at"]
    list_filter = ["released_at"]
