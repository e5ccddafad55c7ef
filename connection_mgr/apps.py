from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionMgrConfig(AppConfig):
    name = "connection_mgr"
    verbose_name = _("Connections")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate, pre_migrate

        from connection_mgr import aliases, breaker, console_nav, metrics, router
        from tenancy import hooks

        pre_migrate.connect(router.pre_migrate, dispatch_uid="connection_mgr.pre_migrate")
        # After tenancy's (RLS, schedules), which INSTALLED_APPS order connects first.
        post_migrate.connect(router.post_migrate, dispatch_uid="connection_mgr.post_migrate")

        hooks.database_connect.register(breaker.guarded_connect)
        hooks.tenant_database.register(aliases.tenant_alias)
        metrics.install()
        console_nav.register()
