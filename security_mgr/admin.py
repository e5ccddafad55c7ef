"""Console pages: a read-only view of key rings (rewrap jobs are under Jobs, with their
progress, resume and cancel; the audit log and the security events under audit_mgr).
Nothing here edits key material."""

from django.contrib import admin

from audit_mgr.admin import ReadOnlyScopedAdmin
from security_mgr.models import KeyRing


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
