"""The AI section of the console sidebar: the registry page (every member)."""

from django.utils.translation import gettext_lazy as _

from ai_mgr.console import may_view
from tenancy.console_registry import NavItem, register_item, register_section


def register() -> None:
    register_section("ai", _("AI models"), icon="model_training", order=65)
    register_item(
        "ai", NavItem(_("Model registry"), "console-ai", icon="model_training", permission=may_view)
    )
