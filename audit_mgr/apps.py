from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit_mgr"
    label = "audit_mgr"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # checks registers itself; tasks registers the audit tasks in every process (web,
        # shell, bench), not only in workers: the sequencer sends its task by name.
        from audit_mgr import checks, tasks  # noqa: F401
        from audit_mgr.actions import record_tenant_event
        from tenancy import hooks

        hooks.tenant_event.register(record_tenant_event)  # what happens to a tenant
        from audit_mgr import console_nav

        console_nav.register()
