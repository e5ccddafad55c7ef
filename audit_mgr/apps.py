from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit_mgr"
    label = "audit_mgr"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from audit_mgr import checks  # noqa: F401  (registers itself)
        from audit_mgr.actions import record_tenant_event
        from tenancy import hooks

        hooks.tenant_event.register(record_tenant_event)  # what happens to a tenant
