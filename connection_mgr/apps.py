from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionMgrConfig(AppConfig):
    name = "connection_mgr"
    verbose_name = _("Connections")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate, pre_migrate

        from connection_mgr import aliases, breaker, console_nav, metrics, router
        from connection_mgr.models import TenantDatabase
        from tenancy import hooks, rls_platform

        pre_migrate.connect(router.pre_migrate, dispatch_uid="connection_mgr.pre_migrate")
        # After tenancy's (RLS, schedules), which INSTALLED_APPS order connects first.
        post_migrate.connect(router.post_migrate, dispatch_uid="connection_mgr.post_migrate")

        # The routing map: without the platform claim, SQL could send another tenant's
        # rows to a database of its choosing (tests/isolation/test_attack_routing.py).
        rls_platform.guard_platform_table(
            TenantDatabase._meta.db_table, "route a tenant's rows to another database"
        )
        hooks.database_connect.register(breaker.guarded_connect)
        hooks.tenant_database.register(aliases.tenant_alias)
        metrics.install()
        console_nav.register()
