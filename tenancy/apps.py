from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


def _apply_rls(sender, using="default", verbosity=1, **kwargs):
    from tenancy import rls

    rls.apply(using=using, verbosity=verbosity)


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenancy and isolation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenancy import checks as tenancy_checks  # noqa: F401  (registers checks)

        # Once per migrate, after every app's migrations: new scoped models get RLS
        # without anyone writing a migration for it.
        post_migrate.connect(_apply_rls, sender=self, dispatch_uid="tenancy.apply_rls")
        checks.register(tenancy_checks.check_scoped_managers, checks.Tags.models)
