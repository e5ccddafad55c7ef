"""Per-tenant keys, derived (never stored) from the master secret with HKDF.

    mac key (tenant t, version v)      = HKDF-SHA256(master, info="dim-session mac t v")
    ML-DSA-65 seed (tenant t, version v) = HKDF-SHA256(master, info="dim-session mldsa65 t v")

The master secret is `SESSION_MASTER_KEY` (environment) or, failing that, SECRET_KEY.
Which *versions* a tenant has is internal state in its own model,
`sessions_mgr.models.SessionKeyVersion` (not a setting anyone could edit or delete): the
highest is current; each older one is accepted until the end of the grace period its
rotation gave it, so a rotation logs nobody out, however many rotations fall inside one
grace period. A tenant that never rotated has version 1 and no row.
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

from tenancy import resettable

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


def mac_key_uncached(tenant_id: int, version: int) -> bytes:
    """For versions that are not accepted (retired, or claimed by a forged token): not
    kept, so made-up versions cannot push the tenants' live keys out of the cache."""
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
class SessionKeyVersions:
    """The session-key versions a tenant's tokens may carry (not to be confused with
    `security_mgr`'s data-key lifecycle, `DataKey.state`)."""

    current: int = 1
    # Older versions and the end of their grace period (unix seconds), newest first;
    # only those not yet over when the state was loaded.
    retired: tuple[tuple[int, float], ...] = ()

    def accepts(self, version: int, now: float) -> bool:
        if version == self.current:
            return True
        return any(v == version and now < until for v, until in self.retired)

    def existed(self, version: int) -> bool:
        """A version this tenant has had (versions are numbered from 1, one by one)."""
        return 1 <= version <= self.current

    def accepted_versions(self, now: float | None = None) -> list[int]:
        now = time.time() if now is None else now
        return [self.current] + [v for v, until in self.retired if now < until]

    @property
    def previous(self) -> int | None:
        return self.retired[0][0] if self.retired else None

    @property
    def previous_until(self) -> float:
        return self.retired[0][1] if self.retired else 0.0

    def as_value(self) -> dict:
        return {
            "current": self.current,
            "previous": self.previous,
            "previous_until": self.previous_until,
            "accepted": [{"version": self.current, "accepted_until": None}]
            + [{"version": v, "accepted_until": until} for v, until in self.retired],
        }


_states: dict[int, tuple[float, SessionKeyVersions]] = {}


def _load(tenant_id: int) -> SessionKeyVersions:
    from django.db.models import Q
    from django.utils import timezone

    from sessions_mgr.models import SessionKeyVersion
    from tenancy.context import TenantRef, tenant_context

    with tenant_context(TenantRef.for_id(tenant_id)):
        rows = list(
            SessionKeyVersion.objects.filter(
                Q(accepted_until__isnull=True) | Q(accepted_until__gt=timezone.now())
            )
            .order_by("-version")
            .values_list("version", "accepted_until")
        )
    current = max((v for v, until in rows if until is None), default=1)
    retired = tuple((v, until.timestamp()) for v, until in rows if until is not None)
    state = SessionKeyVersions(current, tuple(r for r in retired if r[0] < current))
    _states[tenant_id] = (time.monotonic(), state)
    return state


def key_state(
    tenant_id: int, wanted: int | None = None, *, fresh: bool = False
) -> SessionKeyVersions:
    """The tenant's key versions. A version this process does not know yet (another
    process rotated) triggers a reload, rate-limited so forged tokens cannot hammer the
    database; `fresh` reloads at once (for a token whose MAC verified: genuine)."""
    hit = _states.get(tenant_id)
    now = time.monotonic()
    if fresh or hit is None or now - hit[0] > STATE_TTL:
        return _load(tenant_id)
    state = hit[1]
    if wanted is not None and wanted > state.current and now - hit[0] > RELOAD_BACKOFF:
        return _load(tenant_id)
    return state


@resettable.register
def forget_state(tenant_id: int | None = None) -> None:
    if tenant_id is None:
        _states.clear()
    else:
        _states.pop(tenant_id, None)
