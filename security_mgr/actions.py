"""Writes of the security domain. Each verb owns its transaction and records itself in
the tenant's audit log in the same transaction, so a key operation and its entry are
committed (or rolled back) together."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import IntegrityError
from django.db.models import Max
from django.utils import timezone

import audit_mgr as audit
from security_mgr import crypto, keyring
from security_mgr.exceptions import KeyShredded, KeyVersionUnknown
from security_mgr.models import DataKey, KeyRing, KeyState, WrapAlgorithm
from tenancy import db as tenant_db
from tenancy import hooks
from tenancy.context import require_tenant_id, tenant_context


def _ring_for_update(subject: str, *, create: bool = True) -> KeyRing:
    ring = KeyRing.objects.select_for_update().filter(subject=subject).first()
    if ring is None:
        if not create:
            raise KeyVersionUnknown(f"no key ring {subject!r} in this tenant")
        with tenant_db.atomic():
            try:
                KeyRing.objects.create(subject=subject)
            except IntegrityError:  # a concurrent creator won the race: read theirs
                pass
        ring = KeyRing.objects.select_for_update().get(subject=subject)
    return ring


def _forget_on_commit(tenant_id: int, subject: str | None) -> None:
    """Drop the cached ring here now (this transaction sees its own change) and, once
    committed, here again and in every other process (Redis pub/sub)."""
    keyring.forget(tenant_id, subject)
    keyring.hold(tenant_id, subject)  # not cached again before the commit

    def committed():
        keyring.release(tenant_id, subject)
        keyring.invalidate(tenant_id, subject)

    tenant_db.on_commit(tenant_id, committed)


def _add_version(ring: KeyRing, tenant_id: int, subject: str) -> tuple[int, str]:
    """A new data key version on the (locked) ring, made current: (version, algorithm).
    The algorithm follows the tenant's level at this moment (hybrid X25519+ML-KEM-768
    when quantum)."""
    if ring.shredded_at is not None:
        raise KeyShredded("a shredded key ring cannot be rotated")
    algorithm = WrapAlgorithm.HYBRID if keyring.wants_hybrid() else WrapAlgorithm.CLASSICAL
    # Never reuse a version number, even one a failed rotation left behind.
    highest = DataKey.objects.filter(ring=ring).aggregate(v=Max("version"))["v"] or 0
    version = max(ring.current_version, highest) + 1
    secret = keyring.new_data_key()
    DataKey.objects.create(
        ring=ring,
        version=version,
        wrapped_key=keyring.wrap_data_key(tenant_id, subject, version, secret, algorithm),
        algorithm=algorithm,
        kek_id=keyring.get_master_key_provider().key_id,
    )
    del secret
    ring.current_version = version
    ring.rotated_at = timezone.now()
    ring.save(update_fields=["current_version", "rotated_at"])
    _forget_on_commit(tenant_id, subject)
    return version, algorithm


def rotate_key(*, subject: str = "", actor: str = "", reason: str = "") -> KeyRing:
    """Add a new version to the ring and make it current."""
    tenant_id = require_tenant_id("rotate_key")
    with tenant_db.atomic():
        ring = _ring_for_update(subject)
        version, algorithm = _add_version(ring, tenant_id, subject)
        audit.append(
            "key.rotated",
            {"subject": subject, "version": version, "algorithm": algorithm, "reason": reason},
            actor=actor,
        )
    return ring


def do_create_key_ring(
    tenant, *, subject: str = "", actor: str = "", reason: str = "created"
) -> KeyRing:
    """A usable key ring (version 1) for `tenant`: its own (`subject` ""), or a
    subject's. Encryption needs one and reading never makes one, so this runs when the
    tenant is created (tenancy.hooks.tenant_created, in the creating transaction), for
    older tenants in migration 0017, and for subject rings at the first save under the
    subject (providers.create_subject_rings). Idempotent: a ring that already has a
    version (or was shredded) is returned unchanged.

    Recorded as `key.ring_created`: a tenant's own ring in the platform audit log (the
    platform creates it with the tenant, whose log starts with the tenant's own first
    action), a subject's ring in the tenant's log (the tenant's save made it)."""
    with tenant_context(tenant) as ref, tenant_db.atomic():
        ring = _ring_for_update(subject)
        if ring.current_version or ring.shredded_at is not None:
            return ring
        version, algorithm = _add_version(ring, ref.id, subject)
        payload = {"tenant": ref.id, "subject": subject, "version": version}
        audit.append(
            "key.ring_created",
            {**payload, "algorithm": algorithm, "reason": reason},
            actor=actor,
            log=audit.tenant_log() if subject else audit.platform_log(),
        )
    return ring


def set_min_decryption_version(version: int, *, subject: str = "", actor: str = "") -> KeyRing:
    tenant_id = require_tenant_id("set_min_decryption_version")
    with tenant_db.atomic():
        ring = _ring_for_update(subject, create=False)
        if not ring.min_available_version <= version <= ring.current_version:
            raise ValueError(
                f"minimum decryption version must be in {ring.min_available_version}.."
                f"{ring.current_version}"
            )
        ring.min_decryption_version = version
        ring.save(update_fields=["min_decryption_version"])
        audit.append(
            "key.min_decryption_version", {"subject": subject, "version": version}, actor=actor
        )
        _forget_on_commit(tenant_id, subject)
    return ring


def trim_key(min_available_version: int, *, subject: str = "", actor: str = "") -> KeyRing:
    """Destroy the material of versions below `min_available_version` (as Vault's
    trim: it may not pass the minimum decryption version)."""
    tenant_id = require_tenant_id("trim_key")
    with tenant_db.atomic():
        ring = _ring_for_update(subject, create=False)
        if not ring.min_available_version <= min_available_version <= ring.min_decryption_version:
            raise ValueError(
                "trim up to the minimum decryption version at most "
                f"({ring.min_decryption_version}); raise that first"
            )
        trimmed = DataKey.objects.filter(ring=ring, version__lt=min_available_version).exclude(
            state=KeyState.TRIMMED
        )
        versions = list(trimmed.values_list("version", flat=True))
        trimmed.update(wrapped_key=b"", state=KeyState.TRIMMED)
        ring.min_available_version = min_available_version
        ring.save(update_fields=["min_available_version"])
        audit.append("key.trimmed", {"subject": subject, "versions": versions}, actor=actor)
        _forget_on_commit(tenant_id, subject)
    return ring


def set_rotation_period(days: int | None, *, subject: str = "", actor: str = "") -> KeyRing:
    tenant_id = require_tenant_id("set_rotation_period")
    if days is not None and days < 1:
        raise ValueError("the rotation period is at least one day")
    with tenant_db.atomic():
        ring = _ring_for_update(subject)
        ring.rotation_period_days = days
        ring.save(update_fields=["rotation_period_days"])
        audit.append("key.rotation_period", {"subject": subject, "days": days}, actor=actor)
        _forget_on_commit(tenant_id, subject)
    return ring


def do_configure_key_ring(
    *,
    subject: str = "",
    rotation_period_days: int | None | object = ...,
    min_decryption_version: int | None = None,
    trim_below: int | None = None,
    actor: str = "",
) -> KeyRing:
    """Change a ring's settings in one transaction, in this order: automatic rotation
    period (`...`: unchanged; None: none), minimum decryption version, trim. Any refusal
    leaves the ring as it was. The ring must exist (KeyRingMissing names the fix)."""
    tenant_id = require_tenant_id("do_configure_key_ring")
    with tenant_db.atomic():
        if not KeyRing.objects.filter(subject=subject).exists():
            raise keyring.missing(tenant_id, subject)
        if rotation_period_days is not ...:
            set_rotation_period(rotation_period_days, subject=subject, actor=actor)
        if min_decryption_version is not None:
            set_min_decryption_version(min_decryption_version, subject=subject, actor=actor)
        if trim_below is not None:
            trim_key(trim_below, subject=subject, actor=actor)
        return KeyRing.objects.get(subject=subject)


def rotate_due_keys(*, now: dt.datetime | None = None) -> list[str]:
    """Rotate every ring of the current tenant whose rotation period has elapsed."""
    now = now or timezone.now()
    rotated = []
    for ring in KeyRing.objects.filter(
        shredded_at__isnull=True, rotation_period_days__isnull=False
    ):
        last = ring.rotated_at or ring.created_at
        if now - last >= dt.timedelta(days=ring.rotation_period_days):
            rotate_key(subject=ring.subject, actor="scheduler", reason="rotation period")
            rotated.append(ring.subject)
    return rotated


def shred_keys(*, subject: str | None = None, actor: str = "", reason: str = "") -> dict:
    """Crypto-shredding: destroy the key material of one subject's ring, or of every
    ring of the tenant (subject=None). Ciphertexts under them become unrecoverable.
    Writes a signed receipt into the audit log and signs a tree head right after, so
    the log's own integrity is provable past the shredding (it holds no ciphertext)."""
    tenant_id = require_tenant_id("shred_keys")
    with tenant_db.atomic():
        rings = KeyRing.objects.select_for_update().filter(shredded_at__isnull=True)
        if subject is not None:
            rings = rings.filter(subject=subject)
        rings = list(rings.order_by("subject"))
        now = timezone.now()
        destroyed = []
        for ring in rings:
            keys = DataKey.objects.filter(ring=ring).order_by("version")
            for key in keys:
                destroyed.append(
                    {
                        "subject": ring.subject,
                        "version": key.version,
                        "algorithm": key.algorithm,
                        # Proves which material was destroyed without keeping any of it.
                        "wrapped_sha256": hashlib.sha256(bytes(key.wrapped_key)).hexdigest(),
                    }
                )
            keys.update(wrapped_key=b"", state=KeyState.SHREDDED)
            ring.shredded_at = now
            ring.save(update_fields=["shredded_at"])
        receipt = {
            "type": "crypto-shredding receipt",
            "tenant": tenant_id,
            "scope": "tenant" if subject is None else f"subject:{subject}",
            "destroyed": destroyed,
            "at": now.isoformat(),
            "reason": reason,
            "actor": actor,
        }
        signature = audit.sign_receipt(receipt)
        appended = audit.append(
            "key.shredded", {"receipt": receipt, "signature": signature}, actor=actor
        )
        head = audit.sign_tree_head()  # sequences the receipt first: the head covers it
        entry = audit.entry_of(appended)
        _forget_on_commit(tenant_id, subject)  # subject None: every ring of the tenant
    return {
        "receipt": receipt,
        "signature": signature,
        "entry_seq": entry.seq,
        "tree_head": head.pk,
    }


#: The reason recorded on sessions that threat detection ends for probing.
PROBE_REVOKE_REASON = "probing"


def do_react_to_probe(action: str, user_id: int) -> int:
    """In the tenant that answered the 404s (security_mgr/probes.py): apply `action`
    ("revoke_sessions" or "step_up") to the user's live sessions there, through the
    sessions feature's hooks (each owns its transaction). Returns how many changed."""
    if action == "revoke_sessions":
        return hooks.revoke_user_sessions.call(user_id, PROBE_REVOKE_REASON)
    if action == "step_up":
        return hooks.require_user_step_up.call(user_id)
    raise ValueError(f"unknown probe action {action!r}")


__all__ = [
    "crypto",
    "do_configure_key_ring",
    "do_create_key_ring",
    "do_react_to_probe",
    "rotate_due_keys",
    "rotate_key",
    "set_min_decryption_version",
    "set_rotation_period",
    "shred_keys",
    "trim_key",
]
