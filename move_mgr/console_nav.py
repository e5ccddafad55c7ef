"""The "Tenant moves" page in the console sidebar (platform operators), under
Connections."""

from django.utils.translation import gettext_lazy as _

from connection_mgr.console import may_view
from tenancy.console_registry import NavItem, register_item


def register() -> None:
    register_item(
        "connections",
        NavItem(_("Tenant moves"), "console-moves", icon="swap_horiz", permission=may_view),
    )
