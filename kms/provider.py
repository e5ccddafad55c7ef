"""The master key-encryption key (KEK), behind a small interface.

Data keys never touch the database in the clear: they are wrapped by the KEK (or by
hybrid key pairs derived from it, see `security_mgr.crypto`). Everything the rest of the
app needs from the KEK is three operations, so a KMS or HSM can replace the environment
implementation without touching callers:

- `wrap(plaintext, aad)` / `unwrap(blob, aad)`: authenticated key wrapping;
- `derive(label, length)`: a secret bound to a label (per-tenant KEM seeds, signing
  seeds). A KMS provides this as an HMAC/"GenerateMac" operation.

`SECURITY_MASTER_KEY` holds 32 random bytes, base64 (standard or URL-safe), or
`SECURITY_MASTER_KEY_FILE` names a file holding the same. Outside production a key is
derived from the Django secret key so `make run` works with nothing set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kms.exceptions import DecryptionFailed, MalformedCiphertext, MasterKeyError

NONCE = 12


class MasterKeyProvider(ABC):
    #: Identifies the KEK; stored next to every wrapped key so a rotation of the KEK
    #: knows which keys still need rewrapping.
    key_id: str

    @abstractmethod
    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...

    @abstractmethod
    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...

    @abstractmethod
    def derive(self, label: bytes, length: int = 32) -> bytes: ...


class EnvMasterKeyProvider(MasterKeyProvider):
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise MasterKeyError(f"the master key must be 32 bytes, not {len(key)}")
        # Separate keys for separate jobs: wrapping never uses the derivation secret.
        self._wrap = AESGCM(self._hkdf(key, b"dim/kek/wrap", 32))
        self._derive_root = self._hkdf(key, b"dim/kek/derive", 32)
        self.key_id = "env:" + hashlib.sha256(b"dim/kek/id" + key).hexdigest()[:16]

    @staticmethod
    def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._wrap.encrypt(nonce, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE + 16:
            raise MalformedCiphertext("wrapped key is too short")
        try:
            return self._wrap.decrypt(blob[:NONCE], blob[NONCE:], aad)
        except InvalidTag:
            raise DecryptionFailed(
                "wrapped key does not authenticate under the master key (wrong KEK, "
                "altered blob or wrong binding)"
            ) from None

    def derive(self, label: bytes, length: int = 32) -> bytes:
        return self._hkdf(self._derive_root, b"dim/derive/" + label, length)


def parse_master_key(text: str) -> bytes:
    text = text.strip()
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    raise MasterKeyError("SECURITY_MASTER_KEY must be 32 bytes encoded in base64")


def provider_from_settings() -> MasterKeyProvider:
    from django.conf import settings

    text = getattr(settings, "SECURITY_MASTER_KEY", "") or ""
    path = getattr(settings, "SECURITY_MASTER_KEY_FILE", "") or ""
    if not text and path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise MasterKeyError(f"cannot read SECURITY_MASTER_KEY_FILE: {exc}") from exc
    if text:
        return EnvMasterKeyProvider(parse_master_key(text))
    if getattr(settings, "PRODUCTION", False):
        raise MasterKeyError("production needs SECURITY_MASTER_KEY or SECURITY_MASTER_KEY_FILE")
    # Development and tests only: stable across restarts, never used in production.
    return EnvMasterKeyProvider(
        hashlib.sha256(b"dim/dev-master-key/" + settings.SECRET_KEY.encode()).digest()
    )


_provider: MasterKeyProvider | None = None
_lock = threading.Lock()


def get_master_key_provider() -> MasterKeyProvider:
    global _provider
    if _provider is None:
        with _lock:
            if _provider is None:
                from django.conf import settings
                from django.utils.module_loading import import_string

                factory = getattr(settings, "SECURITY_MASTER_KEY_PROVIDER", "")
                _provider = import_string(factory)() if factory else provider_from_settings()
    return _provider


def reset_master_key_provider() -> None:
    """Forget the provider (tests that swap the master key)."""
    global _provider
    _provider = None
