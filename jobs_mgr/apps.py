from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "jobs_mgr"
    label = "jobs_mgr"
    verbose_name = _("Jobs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers run_job_task in every process: the actions send it by name.
        from jobs_mgr import console_nav, tasks  # noqa: F401

        console_nav.register()
