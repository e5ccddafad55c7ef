"""What the audit log's views and security_mgr's share: how the security stack's errors
answer (every failure of the domain is a 400 naming its `code`, except a stored tree
changed behind the application's back, which is not the client's fault), the admin-only
view they start from, and validating a request with a serializer."""

from audit_mgr.exceptions import AuditStoreInconsistent
from kms.exceptions import SecurityError
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.models import Role


class SecurityErrorsAre400:
    def handle_exception(self, exc):
        if isinstance(exc, AuditStoreInconsistent):
            # Not the client's fault: the stored tree was changed behind our back.
            exc = TenantAPIError(409, exc.code, str(exc))
        elif isinstance(exc, SecurityError):
            exc = TenantAPIError(400, exc.code, str(exc))
        elif isinstance(exc, ValueError) and not isinstance(exc, TenantAPIError):
            exc = TenantAPIError(400, "invalid", str(exc))
        return super().handle_exception(exc)


class SecurityView(SecurityErrorsAre400, TenantAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN


def validated(serializer_class, data):
    """The serializer's validated data; a 400 naming the invalid fields otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
