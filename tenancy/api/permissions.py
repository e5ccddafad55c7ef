from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenancy.models import ROLE_RANK, Role


class IsTenantMember(BasePermission):
    """Authenticated, acting in a resolved tenant, with a role at least the view's
    `read_role` for safe methods and `write_role` otherwise (defaults: viewer, member)."""

    message = "Your role in this tenant does not allow this."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        role = getattr(request, "tenant_role", None)
        if role is None:
            return not getattr(view, "tenant_required", True)
        needed = getattr(view, "read_role", Role.VIEWER)
        if request.method not in SAFE_METHODS:
            needed = getattr(view, "write_role", Role.MEMBER)
        return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


class IsPlatformOperator(BasePermission):
    message = "Only platform operators may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_superuser)
