from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from tenancy.models.scoped import TenantScopedManager, is_tenant_scoped, scoped_models


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


# --- unique keys that span tenants (issue 9, class 6) ---------------------------------
#
# A unique key without the tenant is shared by every tenant: inserting a value another
# tenant already holds fails with a duplicate-key error (whose DETAIL even names the
# value), while a free value succeeds. That answers "does any tenant have X?" for any X.
# Every unique field, unique_together and UniqueConstraint of a scoped model must
# therefore include the tenant, or be implied by it:
#
# - the primary key is exempt here (explicit primary keys on scoped creates are refused
#   elsewhere, so an id is never chosen by a tenant);
# - a foreign key to another scoped model implies the tenant: a row can only point at
#   rows of its own tenant, so two rows sharing that value share the tenant;
# - a model may list fields in `globally_unique_fields` when their values are random
#   tokens the server generates (a collision is as likely as guessing the token, so a
#   tenant cannot choose a value to test). Say why next to the attribute.


def _tenant_implied(model, field_name: str, allowed: set[str]) -> bool:
    if field_name in ("tenant", "tenant_id") or field_name in allowed:
        return True
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:  # an F() over a non-field (an annotation): not implied
        return False
    if field.name in allowed:
        return True
    return bool(
        getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False)
    ) and is_tenant_scoped(field.related_model)


def _expression_fields(expressions) -> set[str]:
    names = set()
    stack = list(expressions)
    while stack:
        node = stack.pop()
        if isinstance(node, models.F):
            names.add(node.name.split("__")[0])
        elif hasattr(node, "get_source_expressions"):
            stack.extend(node.get_source_expressions())
    return names


def unique_keys_without_tenant(model) -> list[checks.CheckMessage]:
    """The errors of one scoped model: unique keys that do not include the tenant."""
    errors = []
    label = model._meta.label
    allowed = set(getattr(model, "globally_unique_fields", ()) or ())
    for name in sorted(allowed):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not getattr(field, "concrete", False):
            errors.append(
                checks.Error(
                    f"{label}.globally_unique_fields names {name!r}, which is not a field",
                    hint="List concrete fields whose values are server-generated random tokens.",
                    obj=model,
                    id="tenancy.E004",
                )
            )

    def refuse(what: str) -> None:
        errors.append(
            checks.Error(
                f"{label}: {what} is unique across tenants; a duplicate-key error would "
                "tell one tenant which values another holds",
                hint=(
                    "Add 'tenant' to the key (UniqueConstraint(fields=['tenant', ...])); "
                    "for server-generated random tokens only, list the field in the "
                    "model's globally_unique_fields and say why."
                ),
                obj=model,
                id="tenancy.E003",
            )
        )

    for field in model._meta.concrete_fields:
        if field.primary_key or not field.unique:
            continue
        if not _tenant_implied(model, field.name, allowed):
            refuse(f"field {field.name!r} (unique=True)")
    for fields in model._meta.unique_together:
        if not any(_tenant_implied(model, name, allowed) for name in fields):
            refuse(f"unique_together {tuple(fields)!r}")
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        names = set(constraint.fields) | _expression_fields(constraint.expressions)
        if not any(_tenant_implied(model, name, allowed) for name in names):
            refuse(f"UniqueConstraint {constraint.name!r}")
    return errors


@checks.register(checks.Tags.models)
def check_unique_keys_include_tenant(app_configs=None, **kwargs):
    errors = []
    for model in scoped_models():
        errors += unique_keys_without_tenant(model)
    return errors
