"""The connections page in the console sidebar (platform operators)."""

from django.utils.translation import gettext_lazy as _

from connection_mgr.console import may_view
from tenancy.console_registry import NavItem, register_item, register_section


def register() -> None:
    register_section("connections", _("Connections"), icon="database", order=76)
    register_item(
        "connections",
        NavItem(_("Databases"), "console-connections", icon="database", permission=may_view),
    )
