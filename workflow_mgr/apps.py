from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow_mgr"
    label = "workflow_mgr"
    verbose_name = _("Workflows")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the tasks in every process: the actions send them by name.
        from workflow_mgr import console_nav, tasks  # noqa: F401

        console_nav.register()
