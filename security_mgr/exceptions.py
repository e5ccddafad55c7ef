"""Every way a decryption can fail has its own exception naming the reason,
so callers (and the API, which answers 400) never see garbage or a bare InvalidTag.
The root and the errors of the master key live in `kms.exceptions` (re-exported here);
the audit log's in `audit_mgr.exceptions`."""

from kms.exceptions import (  # noqa: F401  (re-exported: callers catch them from here)
    CryptoError,
    DecryptionFailed,
    MalformedCiphertext,
    MasterKeyError,
    SecurityError,
)


class KeyVersionTrimmed(CryptoError):
    code = "key_version_trimmed"


class KeyVersionBelowMinimum(CryptoError):
    code = "key_version_below_minimum"


class KeyVersionUnknown(CryptoError):
    code = "key_version_unknown"


class KeyRingMissing(KeyVersionUnknown):
    """The tenant (or subject) has no usable key ring. Reads never create one: rings
    are created by `security_mgr.actions.do_create_key_ring`, for every new tenant
    (tenancy.hooks.tenant_created) and for older tenants by migration 0017."""

    code = "key_ring_missing"


class KeyShredded(CryptoError):
    code = "key_shredded"
