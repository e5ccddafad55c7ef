"""The jobs' section of the console sidebar: the Jobs page (every member of the tenant)
and the admin's job list (admins)."""

from django.utils.translation import gettext_lazy as _

from jobs_mgr.console import may_view
from jobs_mgr.console_cards import jobs_card
from jobs_mgr.models import Job
from tenancy.console_registry import (
    NavItem,
    register_admin_models,
    register_card,
    register_item,
    register_section,
)


def register() -> None:
    register_section("jobs", _("Jobs"), icon="work_history", order=60)
    register_item(
        "jobs",
        NavItem(_("Job progress"), "console-jobs", icon="work_history", permission=may_view),
    )
    register_admin_models("jobs", [Job])
    register_card("jobs", jobs_card, order=60)
