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
        from tenancy import hooks

        # Channel secrets are sealed with the tenant's key: a key rewrap re-seals them.
        hooks.sealed_columns.register(sealed_columns)
        from django.db.models.signals import post_delete, post_save

        from perf_mgr import tuning
        from tenancy.models import TenantSetting

        # The optimiser's applied cache TTL and rate limit, read by cache_mgr and the API
        # throttle (tenancy.quotas) through the hook; a saved setting is read afresh.
        hooks.applied_tuning.register(tuning.applied)
        for signal in (post_save, post_delete):
            signal.connect(
                tuning.forget, sender=TenantSetting, dispatch_uid=f"perf_mgr.tuning.{signal}"
            )
        from perf_mgr import anomalies
        from perf_mgr.alerting import rules

        # The seed's `anomaly_score > 0.9` reads the detector's scores (perf_mgr/anomalies.py).
        rules.register_source(anomalies.SCORE_METRIC, anomalies.score_source)
        from ai_mgr import sources
        from perf_mgr import multivariate

        # The multivariate detector's training rows, for ai_mgr's retraining and drift check.
        sources.register(multivariate.SOURCE, multivariate.training_rows)


def sealed_columns() -> list:
    from perf_mgr.models.alerting import AlertChannel, secret_aad
    from tenancy import hooks

    return [
        hooks.SealedColumn(
            model=AlertChannel,
            attname="secret_sealed",
            aad=lambda row: secret_aad(row.tenant_id, row.pk),
            is_sealed=lambda row: bool(row.secret_sealed),
        )
    ]
