"""The AI manager (issue 15): a per-tenant model registry with lineage and audited
promotion, training on Celery, fast exact inference, anomaly detection, forecasts and
optimisation advice.

Why the services layer: sessions, metadata and performance (features) all train and load
models through it, so it must sit below them; it appends to the audit log and runs its
training as jobs_mgr jobs, so it sits above audit_mgr and jobs_mgr."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AiMgrConfig(AppConfig):
    name = "ai_mgr"
    verbose_name = _("AI models")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the `ai.train` job kind with jobs_mgr, and the tasks with Celery.
        from ai_mgr import console_nav, tasks, training  # noqa: F401
        from ai_mgr.actions import erase_artifact_files
        from tenancy import hooks

        console_nav.register()
        # An erasure deletes the tenant's artifact files before it purges their rows.
        hooks.erase_tenant_files.register(erase_artifact_files)
