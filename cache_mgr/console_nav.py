"""The cache's entry in the console sidebar (tenant admins)."""

from django.utils.translation import gettext_lazy as _

from cache_mgr.console import may_view
from tenancy.console_registry import NavItem, register_item, register_section


def register() -> None:
    register_section("cache", _("Cache"), icon="memory", order=75)
    register_item(
        "cache", NavItem(_("Cache statistics"), "console-cache", icon="memory", permission=may_view)
    )
