"""Per-tenant keys, derived (never stored) from the master secret with HKDF.

    mac key (tenant t, version v)      = HKDF-SHA256(master, info="dim-session mac t v")
    ML-DSA-65 seed (tenant t, version v) = HKDF-SHA256(master, info="dim-session mldsa65 t v")

The master secret is `SESSION_MASTER_KEY` (environment) or, failing that, SECRET_KEY.
A tenant's key *version* lives in its TenantSetting `session.keys`:
`{"current": 2, "previous": 1, "previous_until": <unix seconds>}`. Rotating bumps
`current`; tokens made with `previous` keep working until `previous_until` (the grace
period), so a rotation logs nobody out.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

KEYS_SETTING = "session.keys"
STATE_TTL = 60.0  # seconds a process trusts its copy of a tenant's key versions
RELOAD_BACKOFF = 5.0  # an unknown version reloads at most this often (forged tokens)


def master_secret() -> bytes:
    value = os.environ.get("SESSION_MASTER_KEY") or getattr(settings, "SESSION_MASTER_KEY", "")
    return (value or settings.SECRET_KEY).encode()


def _derive(label: str, tenant_id: int, version: int) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"dim-session-keys-v1",
        info=f"dim-session {label} {tenant_id} {version}".encode(),
    )
    return hkdf.derive(master_secret())


@functools.lru_cache(maxsize=4096)
def mac_key(tenant_id: int, version: int) -> bytes:
    return _derive("mac", tenant_id, version)


@functools.lru_cache(maxsize=1024)
def signing_key(tenant_id: int, version: int) -> MLDSA65PrivateKey:
    return MLDSA65PrivateKey.from_seed_bytes(_derive("mldsa65", tenant_id, version))


def public_key_bytes(tenant_id: int, version: int) -> bytes:
    return (
        signing_key(tenant_id, version)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def forget_derived() -> None:
    """After changing the master secret (tests)."""
    mac_key.cache_clear()
    signing_key.cache_clear()


@dataclass(frozen=True)
class KeyState:
    current: int = 1
    previous: int | None = None
    previous_until: float = 0.0

    def accepts(self, version: int, now: float) -> bool:
        return version == self.current or (version == self.previous and now < self.previous_until)

    @classmethod
    def from_value(cls, value) -> KeyState:
        if not isinstance(value, dict):
            return cls()
        try:
            return cls(
                int(value.get("current", 1)),
                int(value["previous"]) if value.get("previous") is not None else None,
                float(value.get("previous_until", 0.0)),
            )
        except (TypeError, ValueError):
            return cls()

    def as_value(self) -> dict:
        return {
            "current": self.current,
            "previous": self.previous,
            "previous_until": self.previous_until,
        }


_states: dict[int, tuple[float, KeyState]] = {}


def _load(tenant_id: int) -> KeyState:
    from tenancy.context import TenantRef, tenant_context
    from tenancy.models import TenantSetting

    with tenant_context(TenantRef(tenant_id, "")):
        row = TenantSetting.objects.filter(key=KEYS_SETTING).first()
    state = KeyState.from_value(row.value if row else None)
    _states[tenant_id] = (time.monotonic(), state)
    return state


def key_state(tenant_id: int, wanted: int | None = None) -> KeyState:
    """The tenant's key versions. A version this process does not know yet (another
    process rotated) triggers a reload, rate-limited so forged tokens cannot hammer the
    database."""
    hit = _states.get(tenant_id)
    now = time.monotonic()
    if hit is None or now - hit[0] > STATE_TTL:
        return _load(tenant_id)
    state = hit[1]
    if wanted is not None and wanted > state.current and now - hit[0] > RELOAD_BACKOFF:
        return _load(tenant_id)
    return state


def forget_state(tenant_id: int | None = None) -> None:
    if tenant_id is None:
        _states.clear()
    else:
        _states.pop(tenant_id, None)
