from django.core import checks

from tenancy.models.scoped import TenantScopedManager, scoped_models


def check_scoped_managers(app_configs=None, **kwargs):
    """A scoped model with an unscoped manager would be a hole: refuse to start."""
    errors = []
    for model in scoped_models():
        for manager in model._meta.managers:
            if not isinstance(manager, TenantScopedManager):
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{manager.name} is not a TenantScopedManager",
                        hint="Every manager of a tenant-scoped model must scope by tenant.",
                        obj=model,
                        id="tenancy.E001",
                    )
                )
        if not isinstance(model._base_manager, TenantScopedManager):
            errors.append(
                checks.Error(
                    f"{model._meta.label} has an unscoped base manager",
                    hint="Inherit Meta from TenantScopedModel.Meta (base_manager_name).",
                    obj=model,
                    id="tenancy.E002",
                )
            )
    return errors
