"""The jobs' section of the console sidebar."""

from django.utils.translation import gettext_lazy as _

from jobs_mgr.models import Job
from tenancy.console_registry import register_admin_models, register_section


def register() -> None:
    register_section("jobs", _("Jobs"), icon="work_history", order=60)
    register_admin_models("jobs", [Job])
