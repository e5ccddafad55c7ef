from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "jobs_mgr"
    label = "jobs_mgr"
    verbose_name = _("Jobs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers run_job_task in every process: the actions send it by name.
        from jobs_mgr import tasks  # noqa: F401

        register_console_items()


def register_console_items() -> None:
    """The Jobs page in the console's sidebar (the tenant's members see it)."""
    try:
        from tenancy.console_registry import NavItem, register_item, register_section
    except ImportError:  # the console registry is not merged yet
        return
    from jobs_mgr.console import may_view

    register_section("jobs", title=_("Jobs"), icon="work_history", order=60)
    register_item(
        "jobs",
        NavItem(title=_("Jobs"), link="console-jobs", icon="work_history", permission=may_view),
    )
