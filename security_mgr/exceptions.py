"""Every way a decryption or a proof can fail has its own exception naming the reason,
so callers (and the API, which answers 400) never see garbage or a bare InvalidTag."""

from tenancy.exceptions import AppendOnlyViolation as _FoundationAppendOnly


class SecurityError(Exception):
    code = "security_error"


class CryptoError(SecurityError):
    code = "crypto_error"


class MalformedCiphertext(CryptoError):
    code = "malformed_ciphertext"


class DecryptionFailed(CryptoError):
    """Authentication failed: the ciphertext was altered or the associated data (tenant,
    model, field, row) is not the one it was sealed with."""

    code = "decryption_failed"


class KeyVersionTrimmed(CryptoError):
    code = "key_version_trimmed"


class KeyVersionBelowMinimum(CryptoError):
    code = "key_version_below_minimum"


class KeyVersionUnknown(CryptoError):
    code = "key_version_unknown"


class KeyRingMissing(KeyVersionUnknown):
    """The tenant (or subject) has no usable key ring. Reads never create one: rings
    are created by `security_mgr.actions.do_create_key_ring`, for every new tenant
    (tenancy.hooks.tenant_created) and for older tenants by migration 0014."""

    code = "key_ring_missing"


class KeyShredded(CryptoError):
    code = "key_shredded"


class MasterKeyError(SecurityError):
    code = "master_key_error"


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
