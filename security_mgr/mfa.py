"""MFA writes: TOTP enrolment and verification (replay guard, throttling with
exponential back-off) and hashed one-time backup codes. Each step is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from security_mgr import audit, totp
from security_mgr.keys import get_master_key_provider
from security_mgr.models import BackupCode, TOTPDevice

MAX_FAILURES = 5
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class MFAError(ValueError):
    code = "mfa_invalid"


class MFALocked(MFAError):
    code = "mfa_locked"


def _name(user) -> str:
    return user.get_username()


def enroll_totp(user, *, name: str = "authenticator", issuer: str = "DIM") -> tuple:
    """-> (device, otpauth:// URI). The URI holds the secret: show it once."""
    secret = totp.new_secret()
    with transaction.atomic():
        device = TOTPDevice.objects.create(user=user, name=name[:60], secret=secret)
        audit.append("mfa.totp_enrolled", {"device": str(device.pk)}, actor=_name(user))
    return device, totp.provisioning_uri(secret, account=_name(user), issuer=issuer)


def _check(device: TOTPDevice, code: str, now: dt.datetime) -> bool:
    if device.locked_until and device.locked_until > now:
        seconds = int((device.locked_until - now).total_seconds()) + 1
        raise MFALocked(f"too many wrong codes: try again in {seconds} s")
    step = totp.match(device.secret, code, now=now.timestamp())
    if step is not None and step > device.last_step:
        device.last_step, device.failures, device.locked_until = step, 0, None
        device.save(update_fields=["last_step", "failures", "locked_until", "confirmed"])
        return True
    device.failures += 1
    if device.failures >= MAX_FAILURES:
        # 30 s, 60 s, 120 s ... capped at an hour.
        delay = min(3600, 30 * 2 ** (device.failures - MAX_FAILURES))
        device.locked_until = now + dt.timedelta(seconds=delay)
    device.save(update_fields=["failures", "locked_until"])
    return False


def confirm_totp(device_id, code: str, *, now: dt.datetime | None = None) -> bool:
    code = totp.normalize(code)
    now = now or timezone.now()
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device_id)
        device.confirmed = True
        ok = _check(device, code, now)
        if not ok:
            device.confirmed = False
            TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
        audit.append(
            "mfa.totp_confirmed" if ok else "mfa.totp_failed",
            {"device": str(device.pk)},
            actor=_name(device.user),
        )
    return ok


def verify_totp(user, code: str, *, now: dt.datetime | None = None) -> bool:
    """True once per code (a replayed code is refused), throttled per device."""
    code = totp.normalize(code)
    now = now or timezone.now()
    with transaction.atomic():
        devices = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
        if not devices:
            raise MFAError("no confirmed authenticator")
        for device in devices:
            if _check(device, code, now):
                audit.append("mfa.verified", {"device": str(device.pk)}, actor=_name(user))
                return True
        audit.append("mfa.totp_failed", {"devices": len(devices)}, actor=_name(user))
    return False


def has_mfa(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolled_tenants(user) -> list[int]:
    """Tenants where the user has a confirmed authenticator. Read across tenants (the
    console must ask before any tenant is chosen), through the audited escape hatch only
    when no tenant is in context."""
    from security_mgr.models import PasskeyCredential
    from tenancy.context import current_state, platform_access

    def tenants():
        totp_ids = TOTPDevice.objects.filter(user=user, confirmed=True).values_list(
            "tenant_id", flat=True
        )
        passkey_ids = PasskeyCredential.objects.filter(user=user).values_list(
            "tenant_id", flat=True
        )
        return sorted(set(totp_ids) | set(passkey_ids))

    if current_state() is not None:
        return tenants()
    with platform_access("MFA: does this user have a second factor?", actor=_name(user)):
        return tenants()


def enrolled_anywhere(user) -> bool:
    """A confirmed TOTP device or a passkey, in the tenant in context, or anywhere."""
    from tenancy.context import current_state

    if current_state() is not None:
        from security_mgr.models import PasskeyCredential

        return has_mfa(user) or PasskeyCredential.objects.filter(user=user).exists()
    return bool(enrolled_tenants(user))


def verify_any(user, code: str, *, now: dt.datetime | None = None) -> bool:
    """A TOTP code from any of the user's authenticators, or a backup code."""
    from tenancy.context import tenant_context

    for tenant_id in enrolled_tenants(user):
        with tenant_context(tenant_id):
            try:
                if verify_totp(user, code, now=now):
                    return True
            except ValueError:
                if use_backup_code(user, code):
                    return True
                raise
    return False


def _hash_code(code: str) -> str:
    key = get_master_key_provider().derive(b"mfa/backup-codes", 32)
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def generate_backup_codes(user, count: int = 10) -> list[str]:
    """New codes replace the old ones; only their hashes are stored."""
    codes = ["".join(secrets.choice(BACKUP_ALPHABET) for _ in range(10)) for _ in range(count)]
    with transaction.atomic():
        BackupCode.objects.filter(user=user).delete()
        BackupCode.objects.bulk_create(
            BackupCode(user=user, code_hash=_hash_code(c)) for c in codes
        )
        audit.append("mfa.backup_codes_generated", {"count": count}, actor=_name(user))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def use_backup_code(user, code: str) -> bool:
    if not isinstance(code, str) or not 8 <= len(code) <= 20:
        raise MFAError("a backup code is 10 letters and digits")
    normalized = code.replace("-", "").replace(" ", "").lower()
    with transaction.atomic():
        used = BackupCode.objects.filter(
            user=user, code_hash=_hash_code(normalized), used_at__isnull=True
        ).update(used_at=timezone.now())
        audit.append(
            "mfa.backup_code_used" if used else "mfa.backup_code_failed", {}, actor=_name(user)
        )
    return bool(used)
