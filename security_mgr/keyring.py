"""Transit-style encryption with per-tenant versioned data keys.

Unwrapped data keys live only in this process's memory, in a small cache keyed by
(tenant, subject) that holds the ring's limits (current, minimum decryption and minimum
available version, shredded) and one AESGCM object per version.

How fast a change of a ring (rotate, minimum decryption version, trim, shred) reaches
the caches of every process:
- this process: the action drops the entry at once, and again when it commits;
- other processes, with Redis: the action publishes an invalidation after its commit
  (`security_mgr.invalidation`); each process's listener thread drops the entry on
  receipt (milliseconds; see the `security.key_invalidation` bench row). While the
  listener is healthy (subscribed, answering its liveness pings), an entry may live
  `SECURITY_KEY_CACHE_SECONDS` (default 30 s) as a backstop for a lost message;
- whenever the listener is not healthy (not subscribed yet, Redis down or not
  configured), an entry older than `SECURITY_KEY_CACHE_UNCONFIRMED_SECONDS` (default
  1 s) is not served: the ring row is read again from the database. So a shredded or
  trimmed key is refused by every process within about a second even when Redis is
  down, and within the pub/sub delay when it is up.
On the embedded default (no Redis) the in-process drop covers the web process at once;
a separate Celery worker process sees the change within the 1 s bound.

A load never caches what it read if a drop happened while it was reading (`_generation`),
so a message arriving during a load cannot be overtaken by the stale row; nor a ring
changed (or created on first use) by a transaction of this process that has not
committed (`hold`): after a rollback it would be a key that exists nowhere else.

Reading never writes: a tenant (or subject) without a ring raises `KeyRingMissing`
naming the action that creates one (`actions.do_create_key_ring`, run for every new
tenant in its creating transaction).
"""

from __future__ import annotations

import os
import threading
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.test.signals import setting_changed

from kms import get_master_key_provider
from security_mgr import crypto, invalidation
from security_mgr.exceptions import (
    DecryptionFailed,
    KeyRingMissing,
    KeyShredded,
    KeyVersionBelowMinimum,
    KeyVersionTrimmed,
    KeyVersionUnknown,
)
from security_mgr.models.keyring import DataKey, KeyRing, KeyState
from tenancy.context import TenantRef, require_tenant_id
from tenancy.context import current_var as _current
from tenancy.resettable import register as _resettable

_unpack_head = crypto._HEAD.unpack_from
_MAGIC_FORMAT, _MAX_VERSION = crypto._MAGIC_FORMAT, crypto.MAX_VERSION
_HEADER, _MIN_BINARY = crypto.HEADER, crypto.MIN_BINARY


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


class _Ring:
    __slots__ = (
        "current",
        "min_decryption",
        "min_available",
        "shredded",
        "loaded_at",
        "trusted_until",
        "unconfirmed_until",
        "keys",
        "sealer",
    )

    def __init__(self, current, min_decryption, min_available, shredded, loaded_at):
        self.current = current
        self.min_decryption = min_decryption
        self.min_available = min_available
        self.shredded = shredded
        self.loaded_at = loaded_at
        # Served until the first while the invalidation listener is healthy, until the
        # second otherwise (precomputed: the hot path only compares).
        self.trusted_until = loaded_at + _TRUSTED_AGE
        self.unconfirmed_until = loaded_at + _UNTRUSTED_AGE
        # Only versions that passed _check_version against these limits: a hit here
        # needs no further check (the limits change only by replacing the entry).
        self.keys: dict[int, AESGCM] = {}
        self.sealer: tuple[AESGCM, bytes] | None = None  # current key + binary header


# Keyed by the tenant id for the tenant ring (subject ""), by (tenant id, subject) for
# subject rings: the common case hashes one int instead of building a tuple.
_cache: dict[int | tuple[int, str], _Ring] = {}
_lock = threading.Lock()
_generation = 0  # bumped by every forget(): a load that overlapped one is not cached
_monotonic = time.monotonic
_urandom = os.urandom

# Read on every call: plain module globals, refreshed when the settings change (tests).
_TRUSTED_AGE = 30.0
_UNTRUSTED_AGE = 1.0


_SETTINGS = ("SECURITY_KEY_CACHE_SECONDS", "SECURITY_KEY_CACHE_UNCONFIRMED_SECONDS")


def _load_settings(setting: str | None = None, **_kwargs) -> None:
    global _TRUSTED_AGE, _UNTRUSTED_AGE
    if setting is not None and setting not in _SETTINGS:
        return
    _TRUSTED_AGE = float(getattr(settings, "SECURITY_KEY_CACHE_SECONDS", 30.0))
    _UNTRUSTED_AGE = min(
        _TRUSTED_AGE, float(getattr(settings, "SECURITY_KEY_CACHE_UNCONFIRMED_SECONDS", 1.0))
    )
    forget()  # entries carry expiry times computed from the old values


setting_changed.connect(_load_settings, dispatch_uid="security_mgr.keyring.settings")


def forget(tenant_id: int | None = None, subject: str | None = None) -> None:
    """Drop cached keys: of one ring, of one tenant, or all (this process only; see
    `invalidate` for every process)."""
    global _generation
    with _lock:
        _generation += 1
        if tenant_id is None:
            _cache.clear()
            return
        for key in list(_cache):
            tid, sub = key if type(key) is tuple else (key, "")
            if tid == tenant_id and subject in (None, sub):
                _cache.pop(key, None)


_load_settings()
invalidation.connect(forget)
_feed = invalidation.listener
ensure_listener = invalidation.ensure_listener


def invalidate(tenant_id: int, subject: str | None = None) -> None:
    """Drop the entries here and tell every other process (call after the commit)."""
    forget(tenant_id, subject)
    invalidation.publish(tenant_id, subject)


def _ring(tenant_id: int, subject: str) -> _Ring:
    entry = _cache.get((tenant_id, subject) if subject else tenant_id)
    if entry is None or _monotonic() >= (
        entry.trusted_until if _feed.healthy else entry.unconfirmed_until
    ):
        entry = _load(tenant_id, subject)
    return entry


# Rings changed by a transaction of this process that has not committed yet (or that
# rolled back: Django has no rollback hook, hence the expiry). What a load reads of
# them may vanish with a rollback, so it is used but never cached: a cached ring that
# was never committed would seal data under a key that does not exist.
_held: dict[tuple[int, str | None], float] = {}
HOLD_SECONDS = 600.0


@_resettable
def reset() -> None:
    """Forget everything, holds included (tests: tenant ids repeat across tests)."""
    with _lock:
        _held.clear()
    forget()


def hold(tenant_id: int, subject: str | None) -> None:
    with _lock:
        _held[(tenant_id, subject)] = _monotonic() + HOLD_SECONDS


def release(tenant_id: int, subject: str | None) -> None:
    with _lock:
        _held.pop((tenant_id, subject), None)


def _is_held(tenant_id: int, subject: str) -> bool:
    now = _monotonic()
    for key in ((tenant_id, subject), (tenant_id, None)):
        until = _held.get(key)
        if until is not None:
            if until > now:
                return True
            _held.pop(key, None)
    return False


def missing(tenant_id: int, subject: str) -> KeyRingMissing:
    call = "do_create_key_ring(tenant" + (f", subject={subject!r})" if subject else ")")
    return KeyRingMissing(
        f"tenant {tenant_id} has no key ring {subject!r}: create it with "
        f"security_mgr.actions.{call} (new tenants get theirs when created; "
        "`manage.py migrate` creates those of older tenants)"
    )


def _load(tenant_id: int, subject: str) -> _Ring:
    ensure_listener()
    generation = _generation
    loaded_at = _monotonic()
    ring = KeyRing.objects.filter(subject=subject).first()
    if ring is None or (ring.current_version == 0 and ring.shredded_at is None):
        raise missing(tenant_id, subject)
    entry = _Ring(
        ring.current_version,
        ring.min_decryption_version,
        ring.min_available_version,
        ring.shredded_at is not None,
        loaded_at,
    )
    with _lock:
        if _generation == generation and not (_held and _is_held(tenant_id, subject)):
            _cache[(tenant_id, subject) if subject else tenant_id] = entry
    return entry


def _key(tenant_id: int, subject: str, entry: _Ring, version: int) -> AESGCM:
    aead = entry.keys.get(version)
    if aead is None:
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


def _sealer(tenant_id: int, subject: str, entry: _Ring) -> tuple[AESGCM, bytes]:
    if entry.shredded:
        raise KeyShredded("the key ring was shredded: nothing can be encrypted under it")
    sealer = (_key(tenant_id, subject, entry, entry.current), crypto.binary_header(entry.current))
    entry.sealer = sealer
    return sealer


def encrypt_binary(plaintext: bytes, aad: bytes, subject: str = "") -> bytes:
    """Seal `plaintext` with the current key of the current tenant's ring: the binary
    envelope that encrypted columns store. The hot path of the encrypted fields, hence
    `_ring()` inlined and no settings lookups."""
    state = _current.get()
    tenant_id = state.id if type(state) is TenantRef else require_tenant_id("encryption")
    entry = _cache.get((tenant_id, subject) if subject else tenant_id)
    if entry is None or _monotonic() >= (
        entry.trusted_until if _feed.healthy else entry.unconfirmed_until
    ):
        entry = _load(tenant_id, subject)
    sealer = entry.sealer or _sealer(tenant_id, subject, entry)
    nonce = _urandom(12)
    return sealer[1] + nonce + sealer[0].encrypt(nonce, plaintext, aad)


def encrypt(plaintext: bytes, aad: bytes, *, subject: str = "") -> str:
    """Transit encryption: the text envelope `dim:v<N>:...` (for people and APIs)."""
    return crypto.to_text(encrypt_binary(plaintext, aad, subject))


def current_version(subject: str = "") -> int:
    tenant_id = require_tenant_id("current_version")
    return _ring(tenant_id, subject).current


def encrypt_with_version(plaintext: bytes, aad: bytes, version: int, *, subject: str = "") -> bytes:
    """Seal under a given (usable) version, as a binary envelope: the rewrap job's target."""
    tenant_id = require_tenant_id("encryption")
    entry = _ring(tenant_id, subject)
    _check_version(entry, version, tenant_id, subject)
    return crypto.seal_binary(_key(tenant_id, subject, entry, version), version, plaintext, aad)


def decrypt(ciphertext, aad: bytes, subject: str = "") -> bytes:
    """Open an envelope (binary, or text); every failure is a CryptoError subclass
    naming the reason. A well-formed binary envelope is split inline (hot path)."""
    if type(ciphertext) is bytes and len(ciphertext) >= _MIN_BINARY:
        head, version, nonce = _unpack_head(ciphertext)
        if head == _MAGIC_FORMAT and 0 < version <= _MAX_VERSION:
            sealed = ciphertext[_HEADER:]
        else:
            version, nonce, sealed = crypto.split_envelope(ciphertext)
    else:
        version, nonce, sealed = crypto.split_envelope(ciphertext)
    state = _current.get()
    tenant_id = state.id if type(state) is TenantRef else require_tenant_id("decryption")
    entry = _cache.get((tenant_id, subject) if subject else tenant_id)
    if entry is None or _monotonic() >= (
        entry.trusted_until if _feed.healthy else entry.unconfirmed_until
    ):
        entry = _load(tenant_id, subject)
    aead = entry.keys.get(version)
    if aead is None:
        _check_version(entry, version, tenant_id, subject)
        aead = _key(tenant_id, subject, entry, version)
    try:
        return aead.decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise DecryptionFailed(crypto.DECRYPTION_FAILED) from None


def envelope_version(ciphertext) -> int:
    return crypto.split_envelope(ciphertext)[0]


def wants_hybrid() -> bool:
    """Quantum level for the current tenant (setting `security.level`) or platform-wide."""
    if getattr(settings, "QUANTUM_CRYPTO_ENABLED", False):
        return True
    from tenancy.selectors import get_tenant_setting

    level = get_tenant_setting("security.level")
    if isinstance(level, dict):
        level = level.get("level")
    return level == "quantum"
