"""Which tenant a request acts in: the user's membership, with an explicit choice
(`X-Tenant: <slug>` header, or `?tenant=<slug>`) when the user belongs to several.

Every refusal is a `TenantResolutionError` carrying an HTTP status, a machine-readable
code and a message; the middleware and the API turn it into a 4xx, never a 500. An
unknown slug and a tenant the user is not a member of answer the same, so the answer
is no oracle for which tenants exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from tenancy import degraded, membership_cache
from tenancy.context import no_tenant
from tenancy.models import Membership, Role, Tenant, TenantState

TENANT_HEADER = "HTTP_X_TENANT"
TENANT_QUERY_PARAM = "tenant"
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class TenantResolutionError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Resolution:
    tenant: Tenant
    membership: Membership | None  # None: a superuser acting as platform operator


def requested_slug(request) -> str | None:
    raw = request.META.get(TENANT_HEADER)
    if raw is None:
        raw = request.GET.get(TENANT_QUERY_PARAM)
    if raw is None:
        return None
    slug = raw.strip()
    if not _SLUG_RE.match(slug):
        raise TenantResolutionError(
            400,
            "invalid_tenant",
            _(
                "The tenant must be given as a slug: 1-63 lowercase letters, digits or "
                "inner hyphens (X-Tenant header or ?tenant=)."
            ),
        )
    return slug


def _not_accessible() -> TenantResolutionError:
    return TenantResolutionError(
        403,
        "tenant_not_accessible",
        _("This tenant does not exist or you are not a member."),
    )


def _require_active(tenant: Tenant) -> None:
    if tenant.state != TenantState.ACTIVE:
        raise TenantResolutionError(
            403,
            "tenant_inactive",
            _("Tenant %(slug)r is %(state)s.") % {"slug": tenant.slug, "state": tenant.state},
        )


def memberships_of(user) -> list[Membership]:
    """The user's memberships with their tenants. Every API request needs them, so with
    a shared cache (Redis) they are cached per user; saving or deleting a membership or
    a tenant drops the affected entries at once (see `forget_memberships`). With Redis
    down they come from the database (tenancy/degraded.py)."""
    local = membership_cache.lookup(user.pk)
    if local is not None:
        return local
    loaded_at_epoch = membership_cache.epoch()
    ttl = settings.TENANT_RESOLUTION_CACHE_SECONDS
    key = membership_cache.shared_key(user.pk)
    if ttl:
        if membership_cache.undelivered:
            membership_cache.redeliver_drops()  # before trusting the shared copy again
        # Platform data: its keys must not depend on the tenant context of the caller
        # (the cache's key function namespaces by context).
        with no_tenant():
            cached = degraded.shared_cache("memberships", lambda: cache.get(key))
        if cached is not None:
            membership_cache.remember(user.pk, cached, loaded_at_epoch)
            return cached
    memberships = list(
        Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__slug")
    )
    if ttl:
        with no_tenant():
            degraded.shared_cache("memberships_store", lambda: cache.set(key, memberships, ttl))
    membership_cache.remember(user.pk, memberships, loaded_at_epoch)
    return memberships


def forget_memberships(user_ids) -> None:
    user_ids = list(user_ids)
    if settings.TENANT_RESOLUTION_CACHE_SECONDS and user_ids:
        membership_cache.drop_shared(user_ids)
        # Again once committed: a reader in another process may have cached the old
        # rows between the first delete and the commit. Before the publication below
        # (callbacks run in order), so processes told to reload find no stale copy.
        transaction.on_commit(lambda: membership_cache.drop_shared(user_ids), robust=True)
    membership_cache.forget(user_ids)


def resolve(user, slug: str | None) -> Resolution:
    memberships = memberships_of(user)
    if slug is not None:
        chosen = next((m for m in memberships if m.tenant.slug == slug), None)
        if chosen is not None:
            _require_active(chosen.tenant)
            return Resolution(chosen.tenant, chosen)
        if user.is_superuser:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is not None:
                _require_active(tenant)
                return Resolution(tenant, None)
        raise _not_accessible()
    if not memberships:
        raise TenantResolutionError(
            403, "no_tenant_membership", _("Your account is not a member of any tenant.")
        )
    if len(memberships) > 1:
        raise TenantResolutionError(
            400,
            "tenant_required",
            _(
                "You belong to several tenants: choose one with the X-Tenant header. "
                "Yours: %(tenants)s"
            )
            % {"tenants": ", ".join(m.tenant.slug for m in memberships)},
        )
    _require_active(memberships[0].tenant)
    return Resolution(memberships[0].tenant, memberships[0])


def resolve_bound(user, tenant_id: int, memberships: list | None = None) -> Resolution:
    """The tenant of a tenant-bound credential (a session token): the user must still be
    a member (or a superuser) and the tenant active. The credential may bring the user's
    memberships (kept current by its own invalidation); else they are looked up."""
    if memberships is None:
        memberships = memberships_of(user)
    chosen = next((m for m in memberships if m.tenant_id == tenant_id), None)
    if chosen is not None:
        _require_active(chosen.tenant)
        return Resolution(chosen.tenant, chosen)
    if user.is_superuser:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is not None:
            _require_active(tenant)
            return Resolution(tenant, None)
    raise _not_accessible()


def effective_role(resolution: Resolution | None, user) -> str | None:
    if resolution is None:
        return None
    if resolution.membership is not None:
        return resolution.membership.role
    return Role.OWNER if user.is_superuser else None
