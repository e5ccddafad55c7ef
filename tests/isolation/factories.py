"""Build rows of *any* TenantScopedModel, so the conformance suite covers models that
later issues add without new test code.

Values are derived from the field types and are the same in every tenant (overlapping
data on purpose). A model whose fields cannot be derived defines
`conformance_values(cls) -> dict` with the extra values it needs; an unsupported
required field fails loudly rather than skipping the model.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from tenancy.context import get_current_tenant_id
from tenancy.models import Tenant, is_tenant_scoped

SEED = "conformance"


def _value_for(field: models.Field, cache: dict):
    if isinstance(field, models.ForeignKey):
        target = field.related_model
        if target is Tenant:
            return None
        if is_tenant_scoped(target):
            return row_for(target, cache)
        if target is get_user_model():
            user, _ = target.objects.get_or_create(username="conformance-user")
            return user
        raise NotImplementedError(
            f"{field.model._meta.label}.{field.name}: define conformance_values() for FK "
            f"to {target._meta.label}"
        )
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.EmailField):
        return f"{SEED}@example.com"
    if isinstance(field, (models.CharField, models.TextField)):
        return SEED[: field.max_length] if field.max_length else SEED
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 1
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1")
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return dt.date(2026, 1, 1)
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=1)
    if isinstance(field, models.JSONField):
        return {"seed": SEED}
    if isinstance(field, models.BinaryField):
        return SEED.encode()
    raise NotImplementedError(
        f"{field.model._meta.label}.{field.name} ({type(field).__name__}): "
        "define conformance_values() on the model"
    )


def values_for(model, cache: dict) -> dict:
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name == "tenant" or not field.editable:
            continue
        if field.has_default() or field.null or getattr(field, "auto_now", False):
            if not isinstance(field, models.ForeignKey):
                continue
            # A nullable link to another scoped model is set too: the suite loads every
            # scoped foreign key, and an empty one would prove nothing.
            if field.null and not (
                is_tenant_scoped(field.related_model) and field.related_model is not model
            ):
                continue
        values[field.name] = _value_for(field, cache)
    hook = getattr(model, "conformance_values", None)
    if hook is not None:
        values.update(hook())
    return values


def row_for(model, cache: dict):
    """One row of `model` in the current tenant (parents created as needed)."""
    key = (model, get_current_tenant_id())
    if key not in cache:
        cache[key] = model.objects.create(**values_for(model, cache))
    return cache[key]
