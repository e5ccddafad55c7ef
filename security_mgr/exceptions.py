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


class KeyShredded(CryptoError):
    code = "key_shredded"
