from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionMgrConfig(AppConfig):
    name = "connection_mgr"
    verbose_name = _("Connections")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from connection_mgr import breaker, console_nav, metrics
        from tenancy import hooks

        hooks.database_connect.register(breaker.guarded_connect)
        metrics.install()
        console_nav.register()
