"""Writes of the session manager. Each owns its transaction and runs in the tenant
context it is given (or the current one).

Changes that other processes must see are published right after the database write,
inside the transaction rather than on commit: if the transaction then rolls back, the
session is merely dead earlier than needed (fail closed), never alive after revocation.
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from sessions_mgr import keys, policy, statements, tokens
from sessions_mgr.fastpath import publish
from sessions_mgr.messages import SessionMessage
from sessions_mgr.models import (
    SecurityLevel,
    Session,
    SessionKeyVersion,
    SessionType,
    TenantSessionCutoff,
    new_session_id,
)
from sessions_mgr.policy import LIMIT_DENY, Policy, policy_for
from tenancy import db as tenant_db
from tenancy import hooks, quotas
from tenancy.context import (
    TenantRef,
    current_var,
    platform_access,
    require_tenant_id,
    tenant_context,
)
from tenancy.hooks import SecondFactor
from tenancy.models import TenantSetting


class SessionError(Exception):
    """A refused session operation: HTTP status, reason code, message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _enforce_limit(user_id: int, pol: Policy, now) -> None:
    """At most `max_sessions` live sessions per user and tenant. Reads at most that many
    rows. A soft limit: two logins racing each other can both get in (no lock would
    stop the phantom insert short of serialising every login of the user); the next
    creation ends the excess."""
    live = Session.objects.filter(
        user_id=user_id, revoked_at__isnull=True, absolute_expires_at__gt=now
    )
    newest = list(live.order_by("-created_at").values_list("pk", flat=True)[: pol.max_sessions])
    if len(newest) < pol.max_sessions:
        return
    if pol.on_limit == LIMIT_DENY:
        raise SessionError(
            409, "session_limit", f"At most {pol.max_sessions} concurrent sessions at this level."
        )
    keep = newest[: pol.max_sessions - 1]
    for old in live.exclude(pk__in=keep).only("id", "tenant_id", "absolute_expires_at"):
        _revoke(old, "concurrency_limit", now)


def _created_entry(session: Session) -> tuple[str, str, dict]:
    return (
        "session.created",
        f"user:{session.user_id}",
        {
            "session": session.pk,
            "user_id": session.user_id,
            "level": session.security_level,
            "type": session.session_type,
            "ip": session.ip or "",
            "step_up_required": session.step_up_required,
        },
    )


def _insert_under_limit(db, session: Session, pol: Policy, now) -> bool:
    """PostgreSQL fast path of creation: the limit check, the insert and the audit entry
    in one prepared statement (statements.py): in autocommit, one round trip instead of
    five (BEGIN, read, INSERT, INSERT, COMMIT).
    The explicit tenant is the context's (require_tenant_id) and RLS checks it again.
    False when the user is at the limit: the caller takes the slow path."""
    import audit_mgr as audit

    event, actor, payload = _created_entry(session)
    params = [  # in statements.PARAM_NAMES order
        session.tenant_id,
        session.id,
        session.user_id,
        session.session_type,
        session.security_level,
        now,
        session.idle_expires_at,
        session.absolute_expires_at,
        session.ip,
        session.user_agent,
        session.device_fingerprint,
        session.token_hash,
        session.key_version,
        session.step_up_required,
        pol.max_sessions,
        *audit.queued_values(event, payload, actor=actor, at=now),
    ]
    if not statements.insert_session(db, params):
        return False
    audit.sequence_soon(audit.tenant_log(session.tenant_id))
    session._state.adding = False
    session._state.db = db.alias
    session._dim_loaded_tenant_id = session.tenant_id
    return True


@functools.cache
def _session_fields() -> tuple:
    return tuple(Session._meta.concrete_fields)


def _new_session(**values) -> Session:
    """`Session(**values)` through the model's positional constructor, which costs half
    as much as keywords; fields not given take their defaults."""
    return Session(
        *[values[f.attname] if f.attname in values else f.get_default() for f in _session_fields()]
    )


def do_create_session(
    *,
    tenant_id: int,
    user_id: int,
    session_type: str = SessionType.USER,
    security_level: str = SecurityLevel.STANDARD,
    ip: str | None = None,
    user_agent: str = "",
    device_fingerprint: str = "",
    mfa_code: str | None = None,
) -> tuple[Session, str]:
    """Create a session of a member of the tenant; returns the row and its token (the
    only time the token exists in clear).

    At a level whose policy requires MFA the user must have an authenticator in the
    tenant (else `mfa_enrollment_required`, nothing written). A valid `mfa_code` (TOTP
    or backup code) gives a usable session; a TOTP code already used (say, to confirm
    the authenticator) is refused at once (`401 mfa_replayed`, nothing written);
    without a code (or with a wrong one) the session is created under step-up: its
    token is refused with `step_up_required` until `do_complete_step_up`."""
    try:
        session_type = SessionType(session_type)
        security_level = SecurityLevel(security_level)
    except ValueError as exc:
        raise SessionError(400, "invalid", str(exc))
    pol = policy_for(security_level, tenant_id)
    # One tenant context for the whole creation; the caller's own when it is already
    # this tenant's (a request, the facade).
    current = current_var.get()
    ref = current if isinstance(current, TenantRef) and current.id == tenant_id else None
    context_token = current_var.set(ref or TenantRef.for_id(tenant_id))
    try:
        now = timezone.now()
        live = Session.objects.filter(revoked_at__isnull=True, absolute_expires_at__gt=now)
        quotas.enforce("sessions", usage=live.count)  # the tier's cap (tenancy/quotas.py)
        step_up = pol.mfa_required and not _second_factor_at_creation(user_id, mfa_code)
        session = _new_session(
            tenant_id=require_tenant_id("creating a session"),
            id=new_session_id(),
            user_id=user_id,
            session_type=session_type,
            security_level=security_level,
            created_at=now,
            last_seen_at=now,
            idle_expires_at=now + timedelta(seconds=pol.idle_seconds),
            absolute_expires_at=now + timedelta(seconds=pol.absolute_seconds),
            ip=ip or None,
            user_agent=(user_agent or "")[:300],
            device_fingerprint=(device_fingerprint or "")[:128],
            key_version=keys.key_state(tenant_id).current,
            step_up_required=step_up,
        )
        token = _mint(session, pol)
        db = tenant_db.connection_for()  # a dedicated tenant's own database
        if (
            db.vendor == "postgresql"
            and hasattr(db, "ensure_tenant_setting")  # the tenancy backend (RLS setting)
            and _insert_under_limit(db, session, pol, now)
        ):
            return session, token
        with tenant_db.atomic():
            _enforce_limit(user_id, pol, now)
            session.save(force_insert=True)
            _audit(*_created_entry(session))
    finally:
        current_var.reset(context_token)
    return session, token


def _audit(event: str, actor: str, payload: dict, tenant_id: int | None = None) -> None:
    """Into the tenant's log: the context's, or the session's own (`tenant_id`) when a
    platform operator acts across tenants."""
    import audit_mgr as audit

    audit.append(event, payload, actor=actor, log=audit.tenant_log(tenant_id))


def _verify_second_factor(user, code) -> SecondFactor:
    """A TOTP code or a backup code of `user` in the tenant in context, checked by the
    provider of `tenancy.hooks.verify_second_factor` (the security feature), which
    commits its own bookkeeping (replay guard, failure count, lock-out)."""
    return hooks.verify_second_factor.call(user, code)


_REPLAYED = "This code was already used (each code works once): wait for the next one."


def _second_factor_at_creation(user_id: int, code) -> bool:
    """True when the login carried a valid second factor; False: create under step-up.
    Verified before the session is written: a wrong code's failure count must persist
    (the throttling depends on it) whatever happens to the session."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not hooks.has_second_factor.call(user):
        raise SessionError(
            403,
            "mfa_enrollment_required",
            "This security level requires MFA: enrol an authenticator (TOTP) in this tenant.",
        )
    if code is None or code == "":
        return False
    checked = _verify_second_factor(user, code)
    if checked.outcome == SecondFactor.REPLAYED:
        # Typically the code just used to confirm the authenticator: a session under
        # step-up would wait for a code the user thinks they gave. Refuse at once.
        raise SessionError(401, "mfa_replayed", _REPLAYED)
    # LOCKED: the session waits under step-up until the lock has passed.
    return checked.ok


def _mint(session: Session, pol: Policy) -> str:
    token = tokens.mint(
        tenant_id=session.tenant_id or require_tenant_id("minting a token"),
        session_id=session.pk,
        generation=session.token_generation,
        key_version=session.key_version,
        level=session.security_level,
        issued_at=int(time.time() * 1000),  # ms: see do_revoke_tenant_sessions
        expires_at=int(session.absolute_expires_at.timestamp()),
        signed=pol.signed,
    )
    session.token_hash = tokens.hash_token(token)
    return token


def do_refresh_session(session_id: str) -> tuple[Session, str]:
    """A new token for the same session; every older token of it dies at once. The
    absolute expiry does not move: refreshing cannot extend a session forever."""
    now = timezone.now()
    with tenant_db.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.revoked_at is not None:
            raise SessionError(404, "not_found", "No such live session.")
        if session.absolute_expires_at <= now:
            raise SessionError(409, "expired", "The session has expired.")
        pol = policy_for(session.security_level, session.tenant_id)
        session.token_generation += 1
        session.key_version = keys.key_state(session.tenant_id).current
        session.last_seen_at = now
        session.idle_expires_at = now + timedelta(seconds=pol.idle_seconds)
        token = _mint(session, pol)
        session.save(
            update_fields=[
                "token_generation", "key_version", "token_hash", "last_seen_at",
                "idle_expires_at",
            ]
        )  # fmt: skip
    publish(SessionMessage.refreshed(session.pk, session.token_generation))
    return session, token


def _revoke(session: Session, reason: str, now) -> None:
    session.revoked_at = now
    session.revoke_reason = reason[:40]
    session.save(update_fields=["revoked_at", "revoke_reason"])
    _audit(
        "session.ended",
        f"user:{session.user_id}",
        {"session": session.pk, "user_id": session.user_id, "reason": session.revoke_reason},
        tenant_id=session.tenant_id,
    )
    publish(SessionMessage.revoked(session.pk, session.absolute_expires_at.timestamp()))


def do_revoke_session(session_id: str, reason: str = "revoked") -> bool:
    """Revoke one session of the current tenant. False when there is no such live one."""
    now = timezone.now()
    with tenant_db.atomic():
        session = (
            Session.objects.select_for_update()
            .filter(pk=session_id, revoked_at__isnull=True)
            .first()
        )
        if session is None:
            return False
        _revoke(session, reason, now)
    return True


def do_revoke_user_sessions(user_id: int, reason: str = "sign_out_everywhere") -> int:
    """Every live session of the user in the current tenant."""
    now = timezone.now()
    with tenant_db.atomic():
        sessions = list(
            Session.objects.select_for_update().filter(user_id=user_id, revoked_at__isnull=True)
        )
        for session in sessions:
            _revoke(session, reason, now)
    return len(sessions)


def do_revoke_tenant_sessions(reason: str = "tenant_sign_out") -> int:
    """Every session of the current tenant, in O(1) for the hot path: tokens issued
    before the recorded cutoff are dead everywhere; the rows are marked as well."""
    tenant_id = require_tenant_id("do_revoke_tenant_sessions")
    now = timezone.now()
    # Milliseconds, like the tokens' issue time: a session created right after this
    # call (same second) must survive it.
    cutoff = int(time.time() * 1000) + 1
    with tenant_db.atomic():
        TenantSessionCutoff.objects.update_or_create(defaults={"revoked_before_ms": cutoff})
        count = Session.objects.filter(revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason=reason[:40]
        )
        _audit("sessions.ended_all", "", {"sessions": count, "reason": reason[:40]})
    publish(SessionMessage.tenant_cutoff(tenant_id, cutoff))
    return count


def do_rotate_session_key(grace_seconds: int | None = None) -> keys.SessionKeyVersions:
    """New key version for the current tenant. The version it retires stays accepted
    for the grace period (default: the longest absolute timeout, so no live session
    dies); versions retired earlier keep their own grace period, so any number of
    rotations inside one grace period logs nobody out. Every process learns the change
    when it commits (apps.py)."""
    tenant_id = require_tenant_id("do_rotate_session_key")
    if grace_seconds is None:
        grace_seconds = max(policy_for(lvl, tenant_id).absolute_seconds for lvl in SecurityLevel)
    now = timezone.now()
    until = now + timedelta(seconds=max(0, grace_seconds))
    with tenant_db.atomic():
        # The current version's row is the lock; a tenant that never rotated has none
        # (version 1): two first rotations racing each other meet the unique constraint.
        current = (
            SessionKeyVersion.objects.select_for_update()
            .filter(accepted_until__isnull=True)
            .order_by("-version")
            .first()
        )
        if current is None:
            SessionKeyVersion.objects.create(version=1, created_at=now, accepted_until=until)
            retiring = 1
        else:
            SessionKeyVersion.objects.filter(accepted_until__isnull=True).update(
                accepted_until=until
            )
            retiring = current.version
        SessionKeyVersion.objects.create(version=retiring + 1, created_at=now)
        _audit(
            "session.key_rotated",
            "",
            {"version": retiring + 1, "retired": retiring, "accepted_until": until.isoformat()},
        )
    keys.forget_state(tenant_id)
    return keys.key_state(tenant_id)


def do_set_session_policy(level: str, overrides: dict) -> policy.Policy:
    tenant_id = require_tenant_id("do_set_session_policy")
    level = SecurityLevel(level)
    TenantSetting.objects.update_or_create(
        key=policy.setting_key(level),
        defaults={"value": overrides, "description": f"Session policy overrides ({level})"},
    )  # saving the setting tells every process (apps.py)
    return policy_for(level, tenant_id)


def do_require_step_up(session_id: str) -> None:
    """The session (of the current tenant) is refused with `step_up_required` until
    `do_complete_step_up`. Published inside the transaction like a revocation: a
    rollback then only makes processes reload the row (fail closed)."""
    with tenant_db.atomic():
        Session.objects.filter(pk=session_id).update(step_up_required=True)
        publish(SessionMessage.drop(session_id))


def do_require_user_step_up(user_id: int) -> int:
    """Every live session of the user in the current tenant that is not already waiting
    for a second factor must step up (threat detection's `step_up` reaction to
    probing). Returns how many sessions changed."""
    with tenant_db.atomic():
        ids = list(
            Session.objects.select_for_update()
            .filter(user_id=user_id, revoked_at__isnull=True, step_up_required=False)
            .values_list("pk", flat=True)
        )
        for session_id in ids:
            do_require_step_up(session_id)
    return len(ids)


def do_complete_step_up(session_id: str, code: str) -> Session:
    """A valid second factor (TOTP or backup code) of the session's user clears the
    session's step-up, whether demanded at creation (MFA level) or by the anomaly
    policy. Acts on a live session of the current tenant; another tenant's id is
    `not_found` like a missing one. A wrong code is `mfa_invalid` (counted by the
    security manager's throttling), a locked authenticator `mfa_locked`."""
    now = timezone.now()
    session = Session.objects.filter(pk=session_id, revoked_at__isnull=True).first()
    if session is None or session.absolute_expires_at <= now:
        raise SessionError(404, "not_found", "No such live session.")
    user = get_user_model().objects.filter(pk=session.user_id, is_active=True).first()
    if user is None:
        raise SessionError(404, "not_found", "No such live session.")
    # Verified outside our transaction: the failure count of a wrong code must commit
    # although we refuse.
    checked = _verify_second_factor(user, code)
    if checked.outcome == SecondFactor.LOCKED:
        raise SessionError(429, "mfa_locked", checked.message)
    if checked.outcome == SecondFactor.REPLAYED:
        raise SessionError(401, "mfa_replayed", _REPLAYED)
    if not checked.ok:
        raise SessionError(401, "mfa_invalid", "The code is not valid (or already used).")
    with tenant_db.atomic():
        cleared = Session.objects.filter(pk=session_id, revoked_at__isnull=True).update(
            step_up_required=False
        )
    if not cleared:  # revoked meanwhile
        raise SessionError(404, "not_found", "No such live session.")
    # Unlike revocations, published after the commit: this change makes the session
    # usable again, and a process reloading the row before the commit would cache the
    # old state (and keep refusing it).
    publish(SessionMessage.drop(session_id))
    session.step_up_required = False
    return session


def do_purge_expired_sessions(keep_seconds: int = 7 * 86400) -> int:
    """Delete sessions of the current tenant that expired (or were revoked) more than
    `keep_seconds` ago; the recent ones stay for audit and analytics."""
    before = timezone.now() - timedelta(seconds=keep_seconds)
    with tenant_db.atomic():
        expired = Session.objects.filter(absolute_expires_at__lt=before)
        revoked = Session.objects.filter(revoked_at__lt=before)
        count = expired.delete()[0] + revoked.delete()[0]
        if count:
            _audit(
                "sessions.purged", "scheduler", {"sessions": count, "before": before.isoformat()}
            )
    return count


def do_record_security_event(
    tenant_id: int,
    type_: str,
    severity: str,
    *,
    session_id: str = "",
    user_id: int | None = None,
    source: str = "",
    details: dict | None = None,
) -> None:
    """A security event about one of the tenant's sessions, recorded in that tenant
    (which may not be the request's: a token presented for another tenant is the
    token's tenant's event) with its `security.<type>` audit entry."""
    import audit_mgr as audit

    with tenant_context(TenantRef.for_id(tenant_id)):
        audit.record_security_event(
            type_,
            severity,
            source=source or "",
            session_id=session_id,
            user_id=user_id,
            details=details or {},
        )


def do_delete_sessions_of_user(user_id: int) -> int:
    with platform_access("deleting a deleted user's sessions in every tenant"):
        ids = list(Session.objects.filter(user_id=user_id).values_list("id", "tenant_id"))
        dedicated = tenant_db.dedicated_tenant_ids()
    for tenant_id in dedicated:  # the shared tables do not hold their sessions
        with tenant_context(TenantRef.for_id(tenant_id)):
            ids += Session.objects.filter(user_id=user_id).values_list("id", "tenant_id")
    for sid, tenant_id in ids:
        publish(SessionMessage.revoked(sid, time.time() + 86400))
        with tenant_context(TenantRef.for_id(tenant_id)):
            Session.objects.filter(pk=sid).delete()
    return len(ids)
