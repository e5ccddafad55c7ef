"""Tenants named in a request body, as the seed writes them: `{"tenant_id": "tenant_123"}`.

A reference is a tenant id or a slug; underscores read as hyphens (slugs cannot hold
them), case is ignored, as in the Python API. A body may only name the tenant the
request acts in: a tenant that does not exist and one the caller cannot act in get the
same answer as in tenant resolution (403 `tenant_not_accessible`), so the body is no
oracle for which tenants exist.
"""

from __future__ import annotations

from tenancy.api.error_types import TenantAPIError
from tenancy.models import Tenant
from tenancy.resolution import memberships_of

MAX_REFERENCE_LENGTH = 64


def normalize(ref) -> str | None:
    """The reference as text, or None when it cannot name a tenant (bool, dict, ...)."""
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        return None
    text = str(ref).strip().lower().replace("_", "-")
    return text if 0 < len(text) <= MAX_REFERENCE_LENGTH else None


def names(tenant: Tenant, ref) -> bool:
    text = normalize(ref)
    if text is None:
        return False
    return text == tenant.slug or (text.isascii() and text.isdigit() and int(text) == tenant.pk)


def not_accessible() -> TenantAPIError:
    return TenantAPIError(
        403, "tenant_not_accessible", "This tenant does not exist or you are not a member."
    )


def slug_for(user, ref) -> str | None:
    """The slug of the tenant `ref` names among those `user` may act in (their
    memberships; any tenant for a platform operator), else None."""
    text = normalize(ref)
    if text is None:
        return None
    for membership in memberships_of(user):
        if names(membership.tenant, text):
            return membership.tenant.slug
    if user.is_superuser:
        if text.isascii() and text.isdigit() and len(text) <= 18:
            tenant = Tenant.objects.filter(pk=int(text)).first()
        else:
            tenant = Tenant.objects.filter(slug=text).first()
        return tenant.slug if tenant is not None else None
    return None


def check(request, ref) -> int:
    """The id of the request's tenant when `ref` names it; else the refusal: 400
    `tenant_mismatch` when it names another tenant the caller may act in (they know it),
    403 `tenant_not_accessible` otherwise."""
    tenant = request.tenant
    if tenant is not None and names(tenant, ref):
        return tenant.pk
    if slug_for(request.user, ref) is not None:
        raise TenantAPIError(
            400,
            "tenant_mismatch",
            f"The body names another tenant than the one this request acts in "
            f"({tenant.slug if tenant else 'none'}: X-Tenant header or session token).",
        )
    raise not_accessible()
