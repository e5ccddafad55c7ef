"""The metadata manager's section of the console sidebar and its card on the home."""

from django.utils.translation import gettext_lazy as _

from metadata_mgr.console_cards import metadata_card
from metadata_mgr.models import ImportFile, Record, Subject
from tenancy.console_registry import register_admin_models, register_card, register_section


def register() -> None:
    register_section("metadata", _("Metadata"), icon="dataset", order=45)
    register_admin_models("metadata", [Record, Subject, ImportFile])
    register_card("metadata", metadata_card, order=45)
