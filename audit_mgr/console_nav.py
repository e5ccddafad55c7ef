"""The audit log's section of the console sidebar."""

from django.utils.translation import gettext_lazy as _

from audit_mgr.console_cards import audit_log_card, security_events_card
from audit_mgr.models import AuditEntry, SecurityEvent, SignedTreeHead
from tenancy.console_registry import register_admin_models, register_card, register_section


def register() -> None:
    register_section("audit", _("Audit"), icon="receipt_long", order=40)
    register_admin_models("audit", [AuditEntry, SignedTreeHead, SecurityEvent])
    register_card("security_events", security_events_card, order=30)
    register_card("audit_log", audit_log_card, order=40)
