"""The audit log's errors. They derive from the security stack's root (`kms.exceptions`)
so that the APIs answer them as every other failure of the domain: a 400 naming the
reason, or a 409 when the stored tree was changed behind the application's back."""

from kms.exceptions import SecurityError
from tenancy.exceptions import AppendOnlyViolation as _FoundationAppendOnly


class AuditError(SecurityError):
    code = "audit_error"


class InvalidProof(AuditError):
    code = "invalid_proof"


class AppendOnlyViolation(AuditError, _FoundationAppendOnly):
    code = "append_only"


class AuditStoreInconsistent(AuditError):
    """The stored entries or subtree nodes disagree with each other: the tables were
    changed behind the application's back. `verify_audit` names what."""

    code = "audit_store_inconsistent"
