from django.apps import AppConfig


class PerformanceConfig(AppConfig):
    name = "perf_mgr"
    verbose_name = "Performance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from perf_mgr import collectors, console_nav

        console_nav.register()
        # Task durations, queue waits and the publication time they are measured from.
        collectors.connect_signals()
