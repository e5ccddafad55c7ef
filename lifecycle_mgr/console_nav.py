"""The lifecycle's section of the console sidebar: Lifecycle and Compliance pages, the
admin's tier policies, lifecycles and legal holds, and the quotas card on the home."""

from django.utils.translation import gettext_lazy as _

from lifecycle_mgr.console import may_read, may_view
from lifecycle_mgr.console_cards import quotas_card
from lifecycle_mgr.models import LegalHold, TenantLifecycle, TierPolicy
from tenancy.console_registry import (
    NavItem,
    register_admin_models,
    register_card,
    register_item,
    register_section,
)


def register() -> None:
    register_section("lifecycle", _("Lifecycle"), icon="autorenew", order=70)
    register_item(
        "lifecycle",
        NavItem(_("Lifecycle"), "console-lifecycle", icon="autorenew", permission=may_view),
    )
    register_item(
        "lifecycle",
        NavItem(_("Compliance"), "console-compliance", icon="verified", permission=may_read),
    )
    register_admin_models("lifecycle", [TierPolicy, TenantLifecycle, LegalHold])
    register_card("quotas", quotas_card, order=15)
