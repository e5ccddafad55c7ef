"""Console pages of the audit log: read-only lists of entries, signed tree heads and
security events (the log cannot be edited, not even by the console; an event is
recorded with its entry, so it is not edited either)."""

from django.contrib import admin

from audit_mgr.models import AuditEntry, SecurityEvent, SignedTreeHead
from tenancy.admin_base import TenantScopedAdmin
from tenancy.models import Role


class ReadOnlyScopedAdmin(TenantScopedAdmin):
    """Admins of the tenant see the rows; nobody adds, changes or deletes them here."""

    view_role = Role.ADMIN

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyScopedAdmin):
    list_display = ["seq", "event", "actor", "created_at"]
    list_filter = ["event"]
    search_fields = ["event", "actor"]
    exclude = ["leaf_hash", "root_hash"]


@admin.register(SignedTreeHead)
class SignedTreeHeadAdmin(ReadOnlyScopedAdmin):
    list_display = ["tree_size", "signed_at", "key_id"]
    exclude = ["root_hash", "sig_ed25519", "sig_mldsa65"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyScopedAdmin):
    """Every feature's security events in one list (threats, session anomalies,
    foreign tokens)."""

    list_display = [
        "created_at",
        "type",
        "severity",
        "actor",
        "source",
        "session_id_ref",
        "score",
        "action",
    ]
    list_filter = ["type", "severity", "action"]
    search_fields = ["actor", "source", "session_id_ref"]
