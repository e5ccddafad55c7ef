"""MFA writes: TOTP enrolment and verification (replay guard, throttling with
exponential back-off) and hashed one-time backup codes. Each step is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.utils import timezone
from django.utils.translation import gettext as _

import audit_mgr as audit
from kms import get_master_key_provider
from security_mgr import totp
from security_mgr.models import BackupCode, TOTPDevice
from tenancy import db as tenant_db

MAX_FAILURES = 5
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class MFAError(ValueError):
    code = "mfa_invalid"


class MFALocked(MFAError):
    code = "mfa_locked"


class MFAReplayed(MFAError):
    """The code is right but its time step was already accepted (at enrolment, or an
    earlier sign-in): it is refused like a wrong one, and said so when asked."""

    code = "mfa_replayed"


def _name(user) -> str:
    return user.get_username()


def enroll_totp(user, *, name: str = "authenticator", issuer: str = "DIM") -> tuple:
    """-> (device, otpauth:// URI). The URI holds the secret: show it once."""
    secret = totp.new_secret()
    with tenant_db.atomic():
        device = TOTPDevice.objects.create(user=user, name=name[:60], secret=secret)
        audit.append("mfa.totp_enrolled", {"device": str(device.pk)}, actor=_name(user))
    return device, totp.provisioning_uri(secret, account=_name(user), issuer=issuer)


OK, REPLAYED, WRONG = "ok", "replayed", "wrong"


def _check(device: TOTPDevice, code: str, now: dt.datetime) -> bool:
    return _outcome(device, code, now) == OK


def _outcome(device: TOTPDevice, code: str, now: dt.datetime) -> str:
    """OK, REPLAYED (a right code of a step already used) or WRONG; both refusals count
    as failures towards the lock-out."""
    if device.locked_until and device.locked_until > now:
        seconds = int((device.locked_until - now).total_seconds()) + 1
        raise MFALocked(
            _("too many wrong MFA codes for this authenticator: try again in %(seconds)d s")
            % {"seconds": seconds}
        )
    step = totp.match(device.secret, code, now=now.timestamp())
    if step is not None and step > device.last_step:
        device.last_step, device.failures, device.locked_until = step, 0, None
        device.save(update_fields=["last_step", "failures", "locked_until", "confirmed"])
        return OK
    device.failures += 1
    if device.failures >= MAX_FAILURES:
        # 30 s, 60 s, 120 s ... capped at an hour.
        delay = min(3600, 30 * 2 ** (device.failures - MAX_FAILURES))
        device.locked_until = now + dt.timedelta(seconds=delay)
    device.save(update_fields=["failures", "locked_until"])
    return REPLAYED if step is not None else WRONG


def confirm_totp(device_id, code: str, *, now: dt.datetime | None = None) -> bool:
    code = totp.normalize(code)
    now = now or timezone.now()
    with tenant_db.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device_id)
        device.confirmed = True
        ok = _check(device, code, now)
        if not ok:
            device.confirmed = False
            TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
            forget_enrolment(device.user_id)
        audit.append(
            "mfa.totp_confirmed" if ok else "mfa.totp_failed",
            {"device": str(device.pk)},
            actor=_name(device.user),
        )
    return ok


def verify_totp(
    user, code: str, *, now: dt.datetime | None = None, say_replayed: bool = False
) -> bool:
    """True once per code (a replayed code is refused), throttled per device. With
    `say_replayed`, a refused code that was right but already used raises MFAReplayed
    (after its failure is counted) instead of returning False."""
    code = totp.normalize(code)
    now = now or timezone.now()
    with tenant_db.atomic():
        devices = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
        if not devices:
            raise MFAError(_("no confirmed authenticator"))
        outcomes = []
        for device in devices:
            outcomes.append(_outcome(device, code, now))
            if outcomes[-1] == OK:
                audit.append("mfa.verified", {"device": str(device.pk)}, actor=_name(user))
                return True
        replayed = REPLAYED in outcomes
        audit.append(
            "mfa.totp_failed", {"devices": len(devices), "replayed": replayed}, actor=_name(user)
        )
    if replayed and say_replayed:
        raise MFAReplayed(_("this code was already used: wait for the next one"))
    return False


def has_mfa(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _has_factor(user) -> bool:
    from security_mgr.models import PasskeyCredential

    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or PasskeyCredential.objects.filter(user=user).exists()
    )


# Every console request of a user who has not passed the step asks whether they enrolled;
# the answer is kept briefly and dropped whenever a factor or a membership of theirs is
# saved or deleted (security_mgr.signals), so a superuser's page views do not each open
# the recorded escape hatch.
ENROLMENT_CACHE_SECONDS = 30


def _enrolment_key(user_id) -> str:
    return f"dim:mfa:enrolled:{user_id}"


def forget_enrolment(user_id) -> None:
    from django.core.cache import cache

    from tenancy import degraded
    from tenancy.context import no_tenant

    key = _enrolment_key(user_id)
    with no_tenant():  # platform data: the same key whatever the caller's context
        # Redis down: nothing to drop now; a copy cached before the outage lives at most
        # ENROLMENT_CACHE_SECONDS (tenancy/degraded.py).
        degraded.shared_cache("mfa_enrolment_drop", lambda: cache.delete(key))


def enrolled_tenants(user) -> list[int]:
    """Tenants holding a confirmed authenticator or a passkey of the user.

    The second factor belongs to the person, not to the tenant the console happens to
    act in: a user enrolled in one tenant is asked in every tenant, and may answer with
    any of their factors. A member's factors count in the tenants they still belong to,
    each read in that tenant's own context; a superuser may act (and enrol) in any
    tenant, so theirs are read through the audited escape hatch."""
    from django.core.cache import cache

    from tenancy import degraded
    from tenancy.context import no_tenant

    key = _enrolment_key(user.pk)
    with no_tenant():  # Redis down: read from the database (tenancy/degraded.py)
        cached = degraded.shared_cache("mfa_enrolment", lambda: cache.get(key))
    if cached is not None:
        return list(cached)
    tenants = _read_enrolled_tenants(user)
    with no_tenant():
        degraded.shared_cache(
            "mfa_enrolment_store", lambda: cache.set(key, tenants, ENROLMENT_CACHE_SECONDS)
        )
    return tenants


def _read_enrolled_tenants(user) -> list[int]:
    from security_mgr.models import PasskeyCredential
    from tenancy.context import in_platform_access, platform_access, tenant_context
    from tenancy.resolution import memberships_of

    if user.is_superuser:

        def everywhere():
            totp_ids = TOTPDevice.objects.filter(user=user, confirmed=True).values_list(
                "tenant_id", flat=True
            )
            passkey_ids = PasskeyCredential.objects.filter(user=user).values_list(
                "tenant_id", flat=True
            )
            found = set(totp_ids) | set(passkey_ids)
            for tenant_id in tenant_db.dedicated_tenant_ids():  # not in the shared tables
                with tenant_context(tenant_id):
                    if _has_factor(user):
                        found.add(tenant_id)
            return sorted(found)

        if in_platform_access():  # the superuser's console request already opened it
            return everywhere()
        with platform_access("MFA: does this operator have a second factor?", actor=_name(user)):
            return everywhere()
    tenants = []
    for tenant_id in sorted({m.tenant_id for m in memberships_of(user)}):
        with tenant_context(tenant_id):
            if _has_factor(user):
                tenants.append(tenant_id)
    return tenants


def enrolled_anywhere(user) -> bool:
    return bool(enrolled_tenants(user))


def _looks_like_backup_code(code) -> bool:
    return isinstance(code, str) and 8 <= len(code.replace("-", "").replace(" ", "")) <= 20


def verify_any(user, code: str, *, now: dt.datetime | None = None) -> bool:
    """A TOTP code from any of the user's authenticators, or one of their backup codes,
    in any tenant of `enrolled_tenants`. A malformed code raises MFAError; MFALocked
    only when every authenticator that could have checked the code is locked."""
    from security_mgr.exceptions import SecurityError
    from tenancy.context import tenant_context

    try:
        digits = totp.normalize(code)
    except ValueError:
        digits = None
    tenants = enrolled_tenants(user)
    if digits is not None:
        locked, checked = None, False
        for tenant_id in tenants:
            with tenant_context(tenant_id):
                try:
                    if verify_totp(user, digits, now=now):
                        return True
                    checked = True
                except MFALocked as exc:
                    locked = exc
                except (MFAError, SecurityError):
                    continue  # no confirmed authenticator here, or its seed was shredded
        if locked is not None and not checked:
            raise locked
        return False
    if not _looks_like_backup_code(code):
        raise MFAError(
            _(
                "enter the 6-digit code of your authenticator app, or a backup code "
                "(10 letters and digits)"
            )
        )
    for tenant_id in tenants:
        with tenant_context(tenant_id):
            if use_backup_code(user, code):
                return True
    return False


def _hash_code(code: str) -> str:
    key = get_master_key_provider().derive(b"mfa/backup-codes", 32)
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def generate_backup_codes(user, count: int = 10) -> list[str]:
    """New codes replace the old ones; only their hashes are stored."""
    codes = ["".join(secrets.choice(BACKUP_ALPHABET) for _i in range(10)) for _n in range(count)]
    with tenant_db.atomic():
        BackupCode.objects.filter(user=user).delete()
        BackupCode.objects.bulk_create(
            BackupCode(user=user, code_hash=_hash_code(c)) for c in codes
        )
        audit.append("mfa.backup_codes_generated", {"count": count}, actor=_name(user))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def use_backup_code(user, code: str) -> bool:
    if not isinstance(code, str) or not 8 <= len(code) <= 20:
        raise MFAError(_("a backup code is 10 letters and digits"))
    normalized = code.replace("-", "").replace(" ", "").lower()
    with tenant_db.atomic():
        used = BackupCode.objects.filter(
            user=user, code_hash=_hash_code(normalized), used_at__isnull=True
        ).update(used_at=timezone.now())
        audit.append(
            "mfa.backup_code_used" if used else "mfa.backup_code_failed", {}, actor=_name(user)
        )
    return bool(used)
