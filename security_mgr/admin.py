"""Console pages: read-only views of key rings, the audit log, tree heads and events
(rewrap jobs are under Jobs, with their progress, resume and cancel). Nothing here edits
key material or the log (the log cannot be edited)."""

from django.contrib import admin

from security_mgr.models import (
    AuditEntry,
    KeyRing,
    SecurityEvent,
    SignedTreeHead,
)
from tenancy.admin_base import TenantScopedAdmin
from tenancy.models import Role


class ReadOnlyScopedAdmin(TenantScopedAdmin):
    view_role = Role.ADMIN

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(KeyRing)
class KeyRingAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "__str__",
        "current_version",
        "min_decryption_version",
        "min_available_version",
        "rotation_period_days",
        "rotated_at",
        "shredded_at",
    ]


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
    list_display = ["created_at", "type", "severity", "actor", "source", "action"]
    list_filter = ["type", "severity"]
