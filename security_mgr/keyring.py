"""Transit-style encryption with per-tenant versioned data keys.

Unwrapped data keys live only in this process's memory, in a small cache keyed by
(tenant, subject) that holds the ring's limits (current, minimum decryption and minimum
available version, shredded) and one AESGCM object per version. Writes to a ring
(`security_mgr.actions`) drop the entry here at once; other processes drop it within
`SECURITY_KEY_CACHE_SECONDS` (default 30 s), which bounds how long a shredded or trimmed
key can still be used by a process that had it loaded.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from security_mgr import crypto
from security_mgr.exceptions import (
    KeyShredded,
    KeyVersionBelowMinimum,
    KeyVersionTrimmed,
    KeyVersionUnknown,
)
from security_mgr.keys import get_master_key_provider
from tenancy.context import require_tenant_id


def key_binding(tenant_id: int, subject: str, version: int) -> bytes:
    """Associated data of a wrapped data key: a key row copied to another tenant, ring
    or version does not unwrap."""
    return f"dim/datakey/v1|tenant={tenant_id}|subject={subject}|version={version}".encode()


def kem_owner(tenant_id: int) -> str:
    return f"tenant:{tenant_id}"


def wrap_data_key(tenant_id: int, subject: str, version: int, secret: bytes, algorithm: str):
    provider = get_master_key_provider()
    aad = key_binding(tenant_id, subject, version)
    if algorithm == crypto.WRAP_HYBRID:
        pair = crypto.hybrid_keypair(provider, kem_owner(tenant_id))
        return crypto.hybrid_wrap(pair, secret, aad)
    return provider.wrap(secret, aad)


def unwrap_data_key(tenant_id: int, subject: str, version: int, blob: bytes, algorithm: str):
    provider = get_master_key_provider()
    aad = key_binding(tenant_id, subject, version)
    if algorithm == crypto.WRAP_HYBRID:
        pair = crypto.hybrid_keypair(provider, kem_owner(tenant_id))
        return crypto.hybrid_unwrap(pair, bytes(blob), aad)
    return provider.unwrap(bytes(blob), aad)


def new_data_key() -> bytes:
    return os.urandom(32)


@dataclass
class _Ring:
    current: int
    min_decryption: int
    min_available: int
    shredded: bool
    loaded_at: float
    keys: dict[int, AESGCM] = field(default_factory=dict)


_cache: dict[tuple[int, str], _Ring] = {}
_lock = threading.Lock()


def forget(tenant_id: int | None = None, subject: str | None = None) -> None:
    """Drop cached keys: of one ring, of one tenant, or all."""
    with _lock:
        if tenant_id is None:
            _cache.clear()
            return
        for key in [k for k in _cache if k[0] == tenant_id and subject in (None, k[1])]:
            _cache.pop(key, None)


def _ttl() -> float:
    return float(getattr(settings, "SECURITY_KEY_CACHE_SECONDS", 30))


def _ring(tenant_id: int, subject: str, *, create: bool) -> _Ring:
    entry = _cache.get((tenant_id, subject))
    if entry is not None and time.monotonic() - entry.loaded_at < _ttl():
        return entry
    from security_mgr.models import KeyRing

    ring = KeyRing.objects.filter(subject=subject).first()
    if ring is None or (ring.current_version == 0 and ring.shredded_at is None):
        if not create:
            raise KeyVersionUnknown(f"tenant {tenant_id} has no key ring {subject!r}")
        from security_mgr.actions import rotate_key

        ring = rotate_key(subject=subject, reason="first use")
    entry = _Ring(
        current=ring.current_version,
        min_decryption=ring.min_decryption_version,
        min_available=ring.min_available_version,
        shredded=ring.shredded_at is not None,
        loaded_at=time.monotonic(),
    )
    with _lock:
        _cache[(tenant_id, subject)] = entry
    return entry


def _key(tenant_id: int, subject: str, entry: _Ring, version: int) -> AESGCM:
    aead = entry.keys.get(version)
    if aead is None:
        from security_mgr.models import DataKey, KeyState

        row = DataKey.objects.filter(ring__subject=subject, version=version).first()
        if row is None or row.state == KeyState.TRIMMED:
            raise KeyVersionTrimmed(f"key version {version} was trimmed: the data is lost")
        if row.state == KeyState.SHREDDED:
            raise KeyShredded(f"key version {version} was shredded: the data is unrecoverable")
        secret = unwrap_data_key(tenant_id, subject, version, row.wrapped_key, row.algorithm)
        aead = entry.keys[version] = AESGCM(secret)
    return aead


def _check_version(entry: _Ring, version: int, tenant_id: int, subject: str) -> None:
    name = f"key ring {subject!r}" if subject else "the tenant key ring"
    if entry.shredded:
        raise KeyShredded(f"{name} was shredded: its data is unrecoverable")
    if version > entry.current:
        raise KeyVersionUnknown(f"{name} has no version {version} (current {entry.current})")
    if version < entry.min_available:
        raise KeyVersionTrimmed(
            f"key version {version} was trimmed (versions below {entry.min_available} are gone)"
        )
    if version < entry.min_decryption:
        raise KeyVersionBelowMinimum(
            f"key version {version} is below the minimum decryption version "
            f"{entry.min_decryption} of {name}"
        )


def encrypt(plaintext: bytes, aad: bytes, *, subject: str = "") -> str:
    """Seal `plaintext` with the current key of the current tenant's ring."""
    tenant_id = require_tenant_id("encryption")
    entry = _ring(tenant_id, subject, create=True)
    if entry.shredded:
        raise KeyShredded("the key ring was shredded: nothing can be encrypted under it")
    return crypto.seal(
        _key(tenant_id, subject, entry, entry.current), entry.current, plaintext, aad
    )


def current_version(subject: str = "") -> int:
    tenant_id = require_tenant_id("current_version")
    return _ring(tenant_id, subject, create=True).current


def encrypt_with_version(plaintext: bytes, aad: bytes, version: int, *, subject: str = "") -> str:
    """Seal under a given (usable) version: the rewrap job's target."""
    tenant_id = require_tenant_id("encryption")
    entry = _ring(tenant_id, subject, create=True)
    _check_version(entry, version, tenant_id, subject)
    return crypto.seal(_key(tenant_id, subject, entry, version), version, plaintext, aad)


def decrypt(ciphertext, aad: bytes, *, subject: str = "") -> bytes:
    """Open an envelope; every failure is a CryptoError subclass naming the reason."""
    envelope = crypto.parse_envelope(ciphertext)
    tenant_id = require_tenant_id("decryption")
    entry = _ring(tenant_id, subject, create=False)
    _check_version(entry, envelope.version, tenant_id, subject)
    return crypto.open_sealed(_key(tenant_id, subject, entry, envelope.version), envelope, aad)


def envelope_version(ciphertext) -> int:
    return crypto.parse_envelope(ciphertext).version


def wants_hybrid() -> bool:
    """Quantum level for the current tenant (setting `security.level`) or platform-wide."""
    if getattr(settings, "QUANTUM_CRYPTO_ENABLED", False):
        return True
    from tenancy.selectors import get_tenant_setting

    level = get_tenant_setting("security.level")
    if isinstance(level, dict):
        level = level.get("level")
    return level == "quantum"
