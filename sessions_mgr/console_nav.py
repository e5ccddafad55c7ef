"""The sessions manager's section of the console sidebar."""

from django.utils.translation import gettext_lazy as _

from sessions_mgr.console_cards import sessions_card
from sessions_mgr.models import Session
from tenancy.console_registry import register_admin_models, register_card, register_section


def register() -> None:
    register_section("sessions", _("Sessions"), icon="badge", order=20)
    register_admin_models("sessions", [Session])
    register_card("sessions", sessions_card, order=20)
