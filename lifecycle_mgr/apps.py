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
        from lifecycle_mgr.models import LegalHold, TenantLifecycle, TierPolicy
        from tenancy import rls_platform

        # Platform rows a tenant's SQL must not write (tests/isolation/
        # test_attack_lifecycle_rows.py): the database asks for the platform claim.
        for model, decides in (
            (TierPolicy, "change every tenant's quotas and retention"),
            (TenantLifecycle, "change a tenant's state (unsuspend it) or its tier"),
            (LegalHold, "release a legal hold"),
        ):
            rls_platform.guard_platform_table(model._meta.db_table, decides)

        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete

        from lifecycle_mgr import user_deletion

        # A deleted user's exports in dedicated tenants (the collector sees the default only).
        post_delete.connect(
            user_deletion.on_user_deleted,
            sender=get_user_model(),
            dispatch_uid="lifecycle.user_deleted",
        )
        workflows.register()
        quotas.register()
        console_nav.register()
        register_nav()
