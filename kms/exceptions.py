"""The root of the security stack's errors, and the ones key management raises itself.

`SecurityError` is shared by kms, audit_mgr and security_mgr so that one API handler
maps every failure of the domain to a 400 naming its `code`; security_mgr re-exports
these classes (`security_mgr.exceptions`), so `except CryptoError` still catches a
failed unwrap of the master key."""


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


class MasterKeyError(SecurityError):
    code = "master_key_error"
