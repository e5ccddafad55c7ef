from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "perf_mgr"
    verbose_name = _("Performance")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from perf_mgr import collectors, console_nav

        console_nav.register()
        # Task durations, queue waits and the publication time they are measured from.
        collectors.connect_signals()
