"""Tenant moves (issue 17, "Moves"): a tenant's rows move between the shared tables and
a database of its own as a durable workflow.

Why an app of its own, in the features layer: the move strings connection_mgr's parts
(infrastructure) together with workflow_mgr's engine (a service). connection_mgr may not
import the workflow engine (a lower layer never imports a higher one), and the engine
knows no feature; this small app sits above both and imports each."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MoveMgrConfig(AppConfig):
    name = "move_mgr"
    verbose_name = _("Tenant moves")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from move_mgr import console_nav, workflow

        workflow.register()
        console_nav.register()
