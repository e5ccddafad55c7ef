"""What the security feature provides to the others through `tenancy.hooks`: the
second factor for sessions, threat detection's ears (anomalous sessions, refused
tokens), and a key ring for every new tenant. Registered by `SecurityConfig.ready()`;
the asking apps never import this feature."""

from __future__ import annotations

import functools

from tenancy import hooks
from tenancy.hooks import SecondFactor


def has_second_factor(user) -> bool:
    from security_mgr import mfa

    return mfa.has_mfa(user)


def verify_second_factor(user, code) -> SecondFactor:
    """TOTP-shaped codes go through `verify_totp` (replay guard, failure count,
    lock-out with back-off); anything else is tried as a backup code (single use)."""
    from security_mgr import mfa, totp

    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        return SecondFactor(SecondFactor.INVALID)
    try:
        totp.normalize(code)
    except ValueError:
        is_totp = False
    else:
        is_totp = True
    try:
        if is_totp:
            ok = mfa.verify_totp(user, code, say_replayed=True)
        else:
            ok = mfa.use_backup_code(user, code)
    except mfa.MFALocked as exc:
        return SecondFactor(SecondFactor.LOCKED, str(exc))
    except mfa.MFAReplayed as exc:
        return SecondFactor(SecondFactor.REPLAYED, str(exc))
    except ValueError:  # MFAError: no confirmed authenticator, or not a backup code
        return SecondFactor(SecondFactor.INVALID)
    return SecondFactor(SecondFactor.OK if ok else SecondFactor.INVALID)


def report_session_anomaly(username: str, ip: str, details: dict) -> None:
    """The sessions feature acted on an anomalous session: one record of threats for
    every manager (a SecurityEvent and an audit entry, with the action it took)."""
    from security_mgr import threats

    threats.analyze_threat("session_anomaly", username=username, ip=ip, details=details)


def observe_refused_token(request, reason: str, claimed_tenant_id: int | None) -> None:
    from security_mgr import login_guard

    login_guard.observe_refused_token(request, reason, claimed_tenant_id)


def create_tenant_key_ring(tenant) -> None:
    from security_mgr.actions import do_create_key_ring

    do_create_key_ring(tenant, reason="tenant created")


@functools.cache
def _subject_fields(model) -> tuple:
    # Once per model class: the pre_save receiver below runs on every save of it.
    from security_mgr.fields import EncryptedTextField

    return tuple(
        f
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField) and f.subject_field
    )


def create_subject_rings(sender, instance, raw=False, **kwargs) -> None:
    """pre_save of a model with per-subject encrypted fields: the first save that
    stores a value under a subject creates that subject's ring (an explicit write, in
    the save's transaction when it has one), so that sealing, a read of the ring, never
    has to. bulk_create() sends no pre_save: create the rings first
    (`actions.do_create_key_ring(tenant, subject=...)`)."""
    from security_mgr import keyring
    from security_mgr.actions import do_create_key_ring
    from security_mgr.exceptions import KeyRingMissing

    if raw:
        return
    for field in _subject_fields(sender):
        if instance.__dict__.get(field.attname) is None:
            continue
        subject = field.subject(instance)
        try:
            keyring.current_version(subject)
        except KeyRingMissing:
            do_create_key_ring(instance.tenant_id, subject=subject, reason="first value")


def connect_subject_rings() -> None:
    from django.apps import apps
    from django.db.models.signals import pre_save

    for model in apps.get_models():
        if _subject_fields(model):
            pre_save.connect(
                create_subject_rings, sender=model, dispatch_uid=f"sec-rings-{model._meta.label}"
            )


def seal_tenant_value(plaintext: bytes, aad: bytes) -> bytes:
    """`tenancy.hooks.seal_tenant_value`: the binary envelope the encrypted fields store,
    under the current key of the tenant's ring (the same format, so rewrap and
    crypto-shredding treat both alike)."""
    from security_mgr import keyring

    return keyring.encrypt_binary(plaintext, aad)


def open_tenant_value(envelope: bytes, aad: bytes) -> bytes:
    from security_mgr import keyring

    return keyring.decrypt(bytes(envelope), aad)


PLATFORM_SECRET_AAD = b"dim/platform-secret|"


def seal_platform_secret(plaintext: bytes, aad: bytes) -> bytes:
    """`tenancy.hooks.seal_platform_secret`: sealed under the master key provider (the
    key-encryption key's AES-256-GCM), bound to `aad` under a label of its own so an
    envelope of a wrapped data key never opens as a platform secret, nor the reverse."""
    from kms.provider import get_master_key_provider

    return get_master_key_provider().wrap(plaintext, PLATFORM_SECRET_AAD + aad)


def open_platform_secret(envelope: bytes, aad: bytes) -> bytes:
    from kms.provider import get_master_key_provider

    return get_master_key_provider().unwrap(bytes(envelope), PLATFORM_SECRET_AAD + aad)


def key_deployments(since) -> list:
    """`tenancy.hooks.recent_deployments`: the versions of the tenant's own key ring
    (subject "") created since `since`, and the current one whatever its age, for the
    console's Operations dashboard. Read only; never creates a ring."""
    from django.db.models import Q

    from security_mgr.models import DataKey, KeyRing, KeyState

    ring = KeyRing.objects.filter(subject="").first()
    if ring is None:
        return []
    labels = dict(KeyState.choices)
    return [
        hooks.Deployment(
            kind="key",
            name="tenant key ring",
            version=f"v{key.version}",
            at=key.created_at,
            state=str(labels.get(key.state, key.state)),
            current=key.version == ring.current_version,
        )
        for key in DataKey.objects.filter(ring=ring)
        .filter(Q(created_at__gte=since) | Q(version=ring.current_version))
        .order_by("version")
    ]


def shred_for_erasure(user_id: int | None, actor: str) -> dict:
    """`tenancy.hooks.shred_tenant_keys`: crypto-shredding for an erasure. The whole
    tenant: every ring in one receipt. One user: the rings whose subject names that user
    (`<subject field>=<user id>`, as `EncryptedTextField.subject` builds it), a receipt
    each. Rings already shredded are skipped, so a retried erasure shreds nothing twice."""
    from django.apps import apps

    from security_mgr.actions import shred_keys
    from security_mgr.models import KeyRing

    if user_id is None:
        outcomes = [shred_keys(actor=actor, reason="erasure")]
    else:
        fields = {f.subject_field for m in apps.get_models() for f in _subject_fields(m)}
        names = {f"{field}={user_id}" for field in fields}
        live = KeyRing.objects.filter(subject__in=names, shredded_at__isnull=True)
        outcomes = [
            shred_keys(subject=subject, actor=actor, reason="erasure")
            for subject in sorted(live.values_list("subject", flat=True))
        ]
    return {
        "keys": [key for o in outcomes for key in o["receipt"]["destroyed"]],
        "receipts": [o["entry_seq"] for o in outcomes],
    }


def register() -> None:
    connect_subject_rings()
    hooks.recent_deployments.register(key_deployments)
    hooks.seal_tenant_value.register(seal_tenant_value)
    hooks.open_tenant_value.register(open_tenant_value)
    hooks.seal_platform_secret.register(seal_platform_secret)
    hooks.open_platform_secret.register(open_platform_secret)
    hooks.has_second_factor.register(has_second_factor)
    hooks.verify_second_factor.register(verify_second_factor)
    hooks.session_anomaly.register(report_session_anomaly)
    hooks.session_token_refused.register(observe_refused_token)
    hooks.tenant_created.register(create_tenant_key_ring)
    hooks.shred_tenant_keys.register(shred_for_erasure)
