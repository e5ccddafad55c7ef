"""Fail-closed tenant scoping for the ORM.

Every queryset of a `TenantScopedModel` carries one extra WHERE leaf,
`tenant__in_context=True`, added when the queryset is created. The leaf binds its value
when the SQL is *compiled*, from the tenant context of that moment: the tenant's id, no
filter under `platform_access()`, and `TenantContextMissing` when there is no tenant.

Because the leaf lives in the query's WHERE tree, it survives everything Django does
with a query: clones, `update()` (which turns the query into an UpdateQuery), fast
deletes, `count()`/`aggregate()` sub-queries, `exists()`, `explain()`, unions, use as a
sub-query, related managers, prefetches and the base manager used by forward foreign
keys and `refresh_from_db()`. Nothing needs to remember to call a scoping helper, and a
queryset built at import time (a DRF `queryset = ...`) is still evaluated for the tenant
of the request that runs it.

django-scopes checks the scope when the queryset is *created*; that is why its querysets
leak through `aiterator()` and friends. Checking at compile time closes that class of
hole, because all SQL of a query goes through its compiler. Querysets this manager
did not build (`QuerySet(model=…)`, `qs | QuerySet(…)`, Django's collector) get the same
leaf from tenancy/sqlguard.py when they are compiled.

New rows never take a primary key from the caller outside `platform_access()`
(`ExplicitPrimaryKey`, see `explicit_pk()`): otherwise a create with another tenant's
key fails with a duplicate-key error where a free key succeeds, an existence oracle.
save() and bulk_create() refuse it with a clear message; the SQL guard refuses it again
for every INSERT, whichever queryset built it.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.lookups import Lookup
from django.db.models.sql.where import AND
from django.utils.translation import gettext_lazy as _

from tenancy.context import PlatformAccess, TenantRef, current_state, require_tenant_id
from tenancy.exceptions import ExplicitPrimaryKey, TenantContextMissing, TenantMismatch


class InCurrentTenant(Lookup):
    """`tenant__in_context=True`: compiled against the tenant context of the moment."""

    lookup_name = "in_context"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_prep_lookup(self):
        if self.rhs is not True:
            raise ValueError("tenant__in_context only accepts True")
        return self.rhs

    def as_sql(self, compiler, connection):
        # The lhs is always a resolved column: compiled as it is, without the copy that
        # process_lhs()'s resolve_expression() makes (this runs for every scoped query).
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        state = current_state()
        if isinstance(state, TenantRef):
            return f"{lhs_sql} = %s", (*lhs_params, state.id)
        if isinstance(state, PlatformAccess):
            return f"{lhs_sql} IS NOT NULL", tuple(lhs_params)
        model = self.lhs.target.model._meta.label if hasattr(self.lhs, "target") else "?"
        raise TenantContextMissing(
            f"query on tenant-scoped {model} with no tenant in context: "
            "use tenant_context(tenant) (or platform_access(reason) for platform work)"
        )


class TenantForeignKey(models.ForeignKey):
    """The `tenant` column of scoped models. A subclass so that the `in_context`
    lookup is registered here only, and so that RLS discovery can recognise it."""

    def set_attributes_from_name(self, name):
        super().set_attributes_from_name(name)
        if self._verbose_name is None:
            # The console's column title, translated. Set after the fact, not as the
            # field's `verbose_name` argument: migrations deconstruct `_verbose_name`, so
            # every scoped model (the test apps' too) keeps its migrations as they are.
            self.verbose_name = _("tenant")


TenantForeignKey.register_lookup(InCurrentTenant)


def _scoped_fk_fields(model):
    for field in model._meta.concrete_fields:
        if (
            field.is_relation
            and field.many_to_one
            and field.name != "tenant"
            and is_tenant_scoped(field.related_model)
        ):
            yield field


@functools.cache
def scoped_fks(model) -> tuple:
    """The foreign keys of `model` that point at scoped rows (remembered per model)."""
    return tuple(_scoped_fk_fields(model))


def _check_links(model, tenant_id: int, values: dict) -> None:
    """Every foreign key to a scoped model must point at a row of the same tenant."""
    for field in _scoped_fk_fields(model):
        if field.attname in values:
            value = values[field.attname]
        elif field.name in values:
            value = values[field.name]
            if isinstance(value, models.Model):
                # Never trust the instance's in-memory tenant_id: check its row.
                value = getattr(value, field.target_field.attname)
        else:
            continue
        if value is None:
            continue
        if hasattr(value, "resolve_expression"):
            if isinstance(value, models.F) and value.name in (field.name, field.attname):
                continue  # a no-op assignment
            # An expression could compute any id, including another tenant's row.
            raise TenantMismatch(
                f"{model._meta.label}.{field.name} cannot be set from an expression"
            )
        owner = (
            field.related_model._base_manager.filter(**{field.target_field.attname: value})
            .values_list("tenant_id", flat=True)
            .first()
        )
        if owner != tenant_id:
            # Missing and foreign answer alike: no existence oracle.
            raise TenantMismatch(
                f"{model._meta.label}.{field.name}={value!r} is not a row of this tenant"
            )


def _link_tuple(obj) -> tuple:
    return tuple(getattr(obj, f.attname) for f in scoped_fks(type(obj)))


def _links_verified(obj, tenant_id: int) -> bool:
    return obj.__dict__.get("_dim_links_checked") == (tenant_id, _link_tuple(obj))


def _record_links(obj, tenant_id: int) -> None:
    obj._dim_links_checked = (tenant_id, _link_tuple(obj))


def verify_links(obj, tenant_id: int) -> None:
    """Check the scoped foreign keys of a row about to be inserted, unless save() or
    bulk_create() has checked these very values for this tenant already (the SQL guard
    calls this for every INSERT, so bare querysets are checked too)."""
    if not _links_verified(obj, tenant_id):
        _check_links(type(obj), tenant_id, _link_values(obj))
        _record_links(obj, tenant_id)


def verify_link_value(model, tenant_id: int, field, value) -> None:
    """Check one scoped foreign key an UPDATE sets, unless `update()`/`bulk_update()`
    or the save() running this UPDATE has checked it already."""
    if _links_prechecked.get():
        return
    saving = _saving.get()
    if (
        saving is not None
        and saving._meta.concrete_model is model
        and getattr(saving, field.attname) == value
        and _links_verified(saving, tenant_id)
    ):
        return
    key = field.name if isinstance(value, models.Model) else field.attname
    _check_links(model, tenant_id, {key: value})


# --- explicit primary keys -----------------------------------------------------------------


@functools.cache
def _pk_shape(model) -> tuple:
    """(attname, position among the positional arguments, keyword names, has a default)"""
    pk = model._meta.pk
    index = next(i for i, f in enumerate(model._meta.concrete_fields) if f is pk)
    return pk.attname, index, frozenset({"pk", pk.name, pk.attname}), pk.has_default()


def explicit_pk(obj) -> bool:
    """Was the primary key of this (new) row chosen by the caller?

    Not explicit: no key yet, or the key the field's default produced when the
    instance was built. Explicit: a key passed by keyword (`Model(pk=…)`,
    `create(id=…)`, `get_or_create(pk=…)`), assigned afterwards, or carried by an
    instance loaded from the database. A key passed *positionally* counts as the
    default when the field has one: Django's own `from_db()` and hot paths such as
    session creation build rows positionally from the field defaults (a positional key
    of an auto-increment field is explicit: no default could have produced it).
    """
    pk = obj.pk
    return pk is not None and pk != obj.__dict__.get("_dim_default_pk")


def explicit_pk_message(model) -> str:
    return (
        f"explicit primary key on a new tenant-scoped {model._meta.label} row: leave it "
        "to the field's default or the database (restores and fixtures: "
        "platform_access(reason))"
    )


def _refuse_explicit_pk(obj) -> None:
    if isinstance(current_state(), PlatformAccess):
        return
    if obj.pk is None:
        field = obj._meta.pk
        if field.has_default():
            # Django would take the default while saving; take it now, so that the
            # INSERT check knows the key was not the caller's.
            obj.pk = field.get_default()
            obj._dim_default_pk = obj.pk
        return
    if explicit_pk(obj):
        raise ExplicitPrimaryKey(explicit_pk_message(type(obj)))


def _write_tenant_id(explicit: int | None) -> int:
    """The tenant a write belongs to: the context's, which an explicit value may not
    contradict. Under platform access the write must name its tenant itself."""
    state = current_state()
    if isinstance(state, TenantRef):
        if explicit is not None and explicit != state.id:
            raise TenantMismatch(
                f"write names tenant {explicit} inside the context of tenant {state.id}"
            )
        return state.id
    if isinstance(state, PlatformAccess):
        if explicit is None:
            raise TenantContextMissing("a write under platform_access() must name its tenant")
        return explicit
    return require_tenant_id("writing a tenant-scoped row")


_links_prechecked: ContextVar[bool] = ContextVar("dim_links_prechecked", default=False)
# The instance whose save() is running: its UPDATE need not check the links again.
_saving: ContextVar = ContextVar("dim_saving", default=None)

# What raw() wraps around a scoped model's raw SQL (the SQL guard recognises it).
_RAW_HEAD = "SELECT * FROM ("
_RAW_TAIL = ") AS dim_scoped_raw WHERE dim_scoped_raw.tenant_id = "


def is_scoped_raw(sql: str, params, state) -> bool:
    """Is this the tenant filter raw() puts around SQL, for the tenant in context?"""
    if not isinstance(state, TenantRef) or not sql.startswith(_RAW_HEAD):
        return False
    if isinstance(params, dict):
        return sql.endswith(_RAW_TAIL + "%(dim_tenant_id)s") and (
            params.get("dim_tenant_id") == state.id
        )
    return sql.endswith(_RAW_TAIL + "%s") and bool(params) and params[-1] == state.id


class TenantScopedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        self._check_update(kwargs)
        token = _links_prechecked.set(True)  # checked: the SQL guard need not again
        try:
            return super().update(**kwargs)
        finally:
            _links_prechecked.reset(token)

    update.alters_data = True

    async def aupdate(self, **kwargs):
        self._check_update(kwargs)
        return await super().aupdate(**kwargs)

    aupdate.alters_data = True

    def _check_update(self, kwargs):
        if "tenant" in kwargs or "tenant_id" in kwargs:
            raise TenantMismatch("the tenant of a row cannot be changed")
        state = current_state()
        if isinstance(state, TenantRef):
            if not _links_prechecked.get():
                _check_links(self.model, state.id, kwargs)
        elif state is None:
            require_tenant_id("update()")
        elif any(f.name in kwargs or f.attname in kwargs for f in _scoped_fk_fields(self.model)):
            raise TenantMismatch("under platform access, change links through save()")

    def bulk_create(self, objs, *args, **kwargs):
        if kwargs.get("update_conflicts"):
            # ON CONFLICT ... DO UPDATE has no tenant condition: a conflict on another
            # tenant's row would overwrite it. Only a conflict target that includes the
            # tenant can conflict with this tenant's rows alone.
            unique_fields = set(kwargs.get("unique_fields") or ())
            if not unique_fields & {"tenant", "tenant_id"}:
                raise TenantMismatch(
                    "upserts of scoped rows must include 'tenant' in unique_fields"
                )
            if set(kwargs.get("update_fields") or ()) & {"tenant", "tenant_id"}:
                raise TenantMismatch("the tenant of a row cannot be changed")
        objs = list(objs)
        for obj in objs:
            obj.tenant_id = _write_tenant_id(obj.tenant_id)
            _refuse_explicit_pk(obj)
            _check_links(self.model, obj.tenant_id, _link_values(obj))
            _record_links(obj, obj.tenant_id)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        if "tenant" in fields or "tenant_id" in fields:
            raise TenantMismatch("the tenant of a row cannot be changed")
        objs = list(objs)
        for obj in objs:
            _write_tenant_id(obj.tenant_id)
            _check_links(self.model, obj.tenant_id, _link_values(obj))
        # Django turns this into update(fk=Case(When(pk=..., then=value))): the values
        # were checked above, row by row.
        token = _links_prechecked.set(True)
        try:
            return super().bulk_update(objs, fields, *args, **kwargs)
        finally:
            _links_prechecked.reset(token)

    def raw(self, raw_query, params=(), translations=None, using=None):
        """Raw SQL is wrapped so the ORM filters it too; on PostgreSQL RLS fences it
        again. The query must select the `tenant_id` column."""
        state = current_state()
        if state is None:
            require_tenant_id("raw()")
        if isinstance(state, TenantRef):
            if isinstance(params, dict):
                params = {**params, "dim_tenant_id": state.id}
                marker = "%(dim_tenant_id)s"
            else:
                params = (*(params or ()), state.id)
                marker = "%s"
            raw_query = f"{_RAW_HEAD}{raw_query}{_RAW_TAIL}{marker}"
        return super().raw(raw_query, params, translations, using)


def _link_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in _scoped_fk_fields(type(obj))}


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):
    """Default *and* base manager of every scoped model (forward FKs and
    refresh_from_db() use the base manager, so it must scope too)."""

    use_in_migrations = False

    def get_queryset(self):
        # Equivalent to .filter(tenant__in_context=True), built directly: this runs for
        # every queryset, and Django's filter() machinery costs tens of microseconds.
        queryset = super().get_queryset()
        query = queryset.query
        column = _tenant_field(self.model).get_col(query.get_initial_alias())
        query.where.add(InCurrentTenant(column, True), AND)
        return queryset


@functools.cache
def _tenant_field(model):
    return model._meta.get_field("tenant")


class TenantScopedModel(models.Model):
    tenant = TenantForeignKey(
        "tenancy.Tenant",
        on_delete=models.DO_NOTHING,  # a tenant's rows go with its purge, never by cascade
        related_name="+",
        editable=False,
    )

    objects = TenantScopedManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"
        default_manager_name = "objects"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Remember the key the field's default produced (see explicit_pk()).
        attname, index, keywords, has_default = _pk_shape(self.__class__)
        if kwargs and not keywords.isdisjoint(kwargs):
            return
        if len(args) > index and not has_default:
            return
        self._dim_default_pk = self.__dict__.get(attname)

    def save(self, *args, **kwargs):
        self._enforce_tenant_on_write()
        if (
            self._state.adding
            and not kwargs.get("force_update")
            and kwargs.get("update_fields") is None
        ):
            _refuse_explicit_pk(self)  # an UPDATE-only save cannot create a row
        token = _saving.set(self)
        try:
            super().save(*args, **kwargs)
        finally:
            _saving.reset(token)
        self._dim_loaded_tenant_id = self.tenant_id

    save.alters_data = True

    def delete(self, *args, **kwargs):
        _write_tenant_id(self.tenant_id)
        return super().delete(*args, **kwargs)

    delete.alters_data = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._dim_loaded_tenant_id = instance.__dict__.get("tenant_id")
        instance.__dict__.pop("_dim_default_pk", None)  # a stored key is no default
        return instance

    def _enforce_tenant_on_write(self):
        loaded = getattr(self, "_dim_loaded_tenant_id", None)
        if not self._state.adding and loaded is not None and self.tenant_id != loaded:
            raise TenantMismatch("the tenant of a row cannot be changed")
        self.tenant_id = _write_tenant_id(self.tenant_id)
        _check_links(type(self), self.tenant_id, _link_values(self))
        _record_links(self, self.tenant_id)

    def _fill_tenant_for_validation(self, exclude):
        # Forms exclude the non-editable tenant column, which would silently skip every
        # (tenant, ...) unique check and turn duplicates into IntegrityErrors (500s).
        if self.tenant_id is None:
            try:
                self.tenant_id = _write_tenant_id(None)
            except (TenantContextMissing, TenantMismatch) as exc:
                raise ValidationError(str(exc)) from exc
        return set(exclude or ()) - {"tenant"}

    def validate_unique(self, exclude=None):
        super().validate_unique(exclude=self._fill_tenant_for_validation(exclude))

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude=self._fill_tenant_for_validation(exclude))


def is_tenant_scoped(model) -> bool:
    return isinstance(model, type) and issubclass(model, TenantScopedModel)


def scoped_models(include_abstract: bool = False):
    """Every installed TenantScopedModel: the isolation suite and RLS use this, so a
    model added by a later issue is covered without new code."""
    from django.apps import apps

    return [
        m
        for m in apps.get_models(include_auto_created=False)
        if is_tenant_scoped(m) and (include_abstract or not m._meta.abstract)
    ]
