"""How the security stack's errors answer in the API (the audit log's views and
security_mgr's use it): every failure of the domain is a 400 naming its `code`, except a
stored tree changed behind the application's back, which is not the client's fault."""

from audit_mgr.exceptions import AuditStoreInconsistent
from kms.exceptions import SecurityError
from tenancy.api.errors import TenantAPIError


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
