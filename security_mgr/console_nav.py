"""The security manager's section of the console sidebar."""

from django.utils.translation import gettext_lazy as _

from security_mgr.models import KeyRing
from tenancy.console_registry import NavItem, register_admin_models, register_item, register_section


def register() -> None:
    register_section("security", _("Security"), icon="shield", order=30)
    register_item(
        "security",
        NavItem(_("Security dashboard"), "console-security", icon="monitoring", kind="dashboard"),
    )
    register_item("security", NavItem(_("Passkeys"), "console-passkeys", icon="passkey"))
    register_admin_models("security", [KeyRing])
