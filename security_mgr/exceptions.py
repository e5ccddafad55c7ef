"""Every way a decryption or a proof can fail has its own exception naming the reason,
so callers (and the API, which answers 400) never see garbage or a bare InvalidTag.
The root and the errors of the master key live in `kms.exceptions` (re-exported here)."""

from kms.exceptions import (  # noqa: F401  (re-exported: callers catch them from here)
    CryptoError,
    DecryptionFailed,
    MalformedCiphertext,
    MasterKeyError,
    SecurityError,
)
from tenancy.exceptions import AppendOnlyViolation as _FoundationAppendOnly


class KeyVersionTrimmed(CryptoError):
    code = "key_version_trimmed"


class KeyVersionBelowMinimum(CryptoError):
    code = "key_version_below_minimum"


class KeyVersionUnknown(CryptoError):
    code = "key_version_unknown"


class KeyShredded(CryptoError):
    code = "key_shredded"


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
