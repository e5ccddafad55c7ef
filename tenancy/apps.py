from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


def _forget_membership(sender, instance, **kwargs):
    from tenancy.resolution import forget_memberships

    forget_memberships([instance.user_id])


def _forget_tenant_members(sender, instance, **kwargs):
    from tenancy.models import Membership
    from tenancy.resolution import forget_memberships

    forget_memberships(Membership.objects.filter(tenant=instance).values_list("user_id", flat=True))


def _tenant_saved(sender, instance, created, raw=False, **kwargs):
    # In the inserting transaction: what features attach to a new tenant (its key
    # ring) commits or rolls back with it (tenancy/hooks.py).
    if created and not raw:
        from tenancy import hooks

        hooks.tenant_created.call(instance)


def _apply_rls(sender, using="default", verbosity=1, **kwargs):
    from tenancy import rls

    rls.apply(using=using, verbosity=verbosity)


def _seed_schedules(sender, using="default", verbosity=1, **kwargs):
    from tenancy import schedules

    schedules.seed_after_migrate(using=using, verbosity=verbosity)


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenancy and isolation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenancy import checks as tenancy_checks  # noqa: F401  (registers checks)
        from tenancy import console_nav

        console_nav.register()  # the console sidebar's core sections

        # Once per migrate, after every app's migrations: new scoped models get RLS
        # without anyone writing a migration for it.
        post_migrate.connect(_apply_rls, sender=self, dispatch_uid="tenancy.apply_rls")
        checks.register(tenancy_checks.check_scoped_managers, checks.Tags.models)
        # The product's periodic tasks, in beat's tables (tenancy/schedules.py says why
        # here and not in a data migration).
        post_migrate.connect(_seed_schedules, sender=self, dispatch_uid="tenancy.seed_schedules")

        from tenancy import joins, sqlguard

        joins.install()
        joins.keep_scoped_joins()
        # Every compiled statement that reaches a scoped table is scoped or refused,
        # however its queryset was built (tenancy/sqlguard.py).
        sqlguard.install()

        from django.db.models.signals import post_delete, post_save

        from tenancy.models import Membership, Tenant

        # Membership resolution is cached per user: any change drops the entries now.
        for signal in (post_save, post_delete):
            signal.connect(_forget_membership, sender=Membership, dispatch_uid=f"m{signal}")
            signal.connect(_forget_tenant_members, sender=Tenant, dispatch_uid=f"t{signal}")
        post_save.connect(_tenant_saved, sender=Tenant, dispatch_uid="tenancy.tenant_created")
