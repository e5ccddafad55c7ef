"""The lifecycle manager (issue 16, "Tenant lifecycle"): states from request to purge,
tier policies and quotas, legal hold, GDPR export, erasure with a certificate, and
retention purges.

Why the features layer: each transition is a workflow_mgr workflow and appends to the
audit log (services below). It knows no other feature: the rows it exports and purges are
found through the app registry (every TenantScopedModel), and what only another feature can
do (shred a tenant's keys, drop a search index) is asked through tenancy.hooks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleMgrConfig(AppConfig):
    name = "lifecycle_mgr"
    verbose_name = _("Tenant lifecycle")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the export's job kind with jobs_mgr (`lifecycle.export`).
        from lifecycle_mgr import console_nav, exports_job, quotas, tasks, workflows  # noqa: F401
        from lifecycle_mgr.gdpr_console import register_nav

        workflows.register()
        quotas.register()
        console_nav.register()
        register_nav()
