"""The security manager's section of the console sidebar."""

from django.utils.translation import gettext_lazy as _

from security_mgr.console_cards import key_rings_card
from security_mgr.dashboard import may_open_dashboard
from security_mgr.models import KeyRing
from tenancy.console_registry import (
    NavItem,
    register_admin_models,
    register_card,
    register_item,
    register_section,
)


def register() -> None:
    register_section("security", _("Security"), icon="shield", order=30)
    register_item(
        "security",
        NavItem(
            _("Security dashboard"),
            "console-security",
            icon="monitoring",
            kind="dashboard",
            permission=may_open_dashboard,
        ),
    )
    register_item("security", NavItem(_("Passkeys"), "console-passkeys", icon="passkey"))
    register_admin_models("security", [KeyRing])
    register_card("key_rings", key_rings_card, order=50)
