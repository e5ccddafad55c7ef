"""The current tenant, held in a ContextVar so that sync code, async code and threads
started by asgiref all see the value of the task that set it.

Three states exist: no tenant (every scoped query fails closed), one tenant, and the
platform escape hatch (`platform_access(reason)`), which must name its reason and is
recorded as a structured log record every time it is entered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenancy.exceptions import TenantContextMissing

if TYPE_CHECKING:
    from tenancy.models.tenant import Tenant

audit_log = logging.getLogger("dim.audit")

#: Callables `(reason, actor)` run on every entry into platform access, before the
#: context switches. The security manager registers the audit log here; a listener that
#: raises refuses the access (an escape hatch that cannot be recorded stays shut).
platform_access_listeners: list = []


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What the context needs of a tenant, without holding a model instance."""

    id: int
    slug: str
    cache_generation: int = 0

    @classmethod
    def for_id(cls, tenant_id: int) -> TenantRef:
        """A reference by id alone, without a query: for internal work that has only the
        id (tasks, migrations, the session hot path). Scoping and RLS use the id; the
        slug stays empty, so nothing may rely on it (URLs and logs use the id)."""
        return cls(int(tenant_id), "")

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        """The reference of a loaded tenant (its slug and cache generation included)."""
        return cls(tenant.pk, tenant.slug, tenant.cache_generation)


@dataclass(frozen=True, slots=True)
class PlatformAccess:
    reason: str


_current: ContextVar[TenantRef | PlatformAccess | None] = ContextVar(
    "dim_current_tenant", default=None
)


def _as_ref(tenant: Tenant | TenantRef | int) -> TenantRef:
    if isinstance(tenant, TenantRef):
        return tenant
    if isinstance(tenant, int) and not isinstance(tenant, bool):
        from tenancy.models.tenant import Tenant  # the module (the package imports us)

        tenant = Tenant.objects.get(pk=tenant)
    if getattr(tenant, "pk", None) is None:
        raise ValueError("tenant_context() needs a saved Tenant, a TenantRef or a tenant id")
    return TenantRef.of(tenant)


#: The context variable itself, for per-call hot paths (`current_var.get()` saves a
#: Python call); everything else uses the functions below.
current_var = _current


def current_state() -> TenantRef | PlatformAccess | None:
    return _current.get()


def get_current_tenant() -> TenantRef | None:
    state = _current.get()
    return state if isinstance(state, TenantRef) else None


def get_current_tenant_id() -> int | None:
    state = _current.get()
    return state.id if isinstance(state, TenantRef) else None


def in_platform_access() -> bool:
    return isinstance(_current.get(), PlatformAccess)


def require_tenant_id(operation: str = "this operation") -> int:
    state = _current.get()
    if isinstance(state, TenantRef):
        return state.id
    raise TenantContextMissing(
        f"{operation} needs a tenant in context: wrap it in tenant_context(tenant)"
        + (" (platform access does not pick a tenant)" if state else "")
    )


@contextmanager
def tenant_context(tenant: Tenant | TenantRef | int) -> Iterator[TenantRef]:
    ref = _as_ref(tenant)
    token = _current.set(ref)
    try:
        yield ref
    finally:
        _current.reset(token)


@contextmanager
def no_tenant() -> Iterator[None]:
    """Run a block with no tenant at all, e.g. to prove that it fails closed."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def begin_platform_access(reason: str, *, actor: str | None = None):
    """Enter the audited escape hatch; returns the token for `deactivate()`.
    Scoped managers stop filtering by tenant and, on PostgreSQL, queries run as the
    platform role whose RLS policy admits every row."""
    reason = (reason or "").strip()
    if len(reason) < 8:
        raise ValueError("platform_access() needs a reason of at least 8 characters")
    audit_log.warning(
        "platform_access",
        extra={"event": "platform_access", "reason": reason, "actor": actor},
    )
    for listener in platform_access_listeners:
        listener(reason, actor)
    return _current.set(PlatformAccess(reason))


@contextmanager
def platform_access(reason: str, *, actor: str | None = None) -> Iterator[PlatformAccess]:
    token = begin_platform_access(reason, actor=actor)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def activate(state: TenantRef | PlatformAccess | None):
    """Set the context for a request or task; give the token back to `deactivate()`."""
    return _current.set(state)


def deactivate(token) -> None:
    _current.reset(token)


def clear_context() -> None:
    """Drop whatever the context holds; middleware and task hooks call it last."""
    _current.set(None)
