"""Token validation: the per-request hot path.

In the steady state (the session view is healthy and knows the session) a validation is
a regex, one HMAC and a few dict lookups: no database, no Redis. The database is read
once per process and session (to learn its user and binding), when the idle timeout
looks exceeded locally (another process may have served the session since), and on
every validation while the view is degraded. `last_seen` is written at most once per
SESSION_LAST_SEEN_WRITE_SECONDS per session and process.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from sessions_mgr import keys, tokens
from sessions_mgr.fastpath import LiveEntry, ensure_listener, get_view
from sessions_mgr.messages import SessionMessage
from sessions_mgr.models import Session
from sessions_mgr.policy import BIND_EXACT, BIND_NETWORK, policy_for
from sessions_mgr.tokens import TokenError
from tenancy.context import TenantRef, tenant_context

log = logging.getLogger("dim.sessions")


@dataclass(slots=True)  # built per request: not frozen, whose __init__ is slower
class ValidatedSession:
    session_id: str
    tenant_id: int
    user: object
    user_id: int
    level: str
    session_type: str
    expires_at: int
    memberships: list | None = None  # set by the API authentication (authentication.py)


def write_interval() -> float:
    return float(getattr(settings, "SESSION_LAST_SEEN_WRITE_SECONDS", 60.0))


def _scope(tenant_id: int):
    return tenant_context(TenantRef.for_id(tenant_id))


def _load_entry(parsed: tokens.ParsedToken, token: str, now: float) -> LiveEntry:
    with _scope(parsed.tenant_id):
        row = (
            Session.objects.filter(pk=parsed.session_id)
            .values(
                "user_id", "security_level", "session_type", "ip", "user_agent",
                "last_seen_at", "revoked_at", "token_generation", "step_up_required",
                "token_hash",
            )
            .first()
        )  # fmt: skip
    view = get_view()
    if row is None:
        raise TokenError("revoked", "The session does not exist (any more).")
    if row["revoked_at"] is not None:
        view.apply(SessionMessage.revoked(parsed.session_id, parsed.expires_at))
        raise TokenError("revoked", "The session was revoked.")
    if row["token_generation"] > parsed.generation:
        view.apply(SessionMessage.refreshed(parsed.session_id, row["token_generation"]))
        raise TokenError("revoked", "The token was replaced by a refresh.")
    if row["token_hash"] != tokens.hash_token(token):
        # MAC'd by us yet not the session's current token: never issued as this
        # generation, or the row was tampered with. Refuse; do not cache. On a signed
        # token only the signature (outside the MAC) can differ: someone replaced it.
        if parsed.signature is not None:
            raise TokenError("bad_signature", "The token's signature is not the one issued.")
        raise TokenError("revoked", "The token is not the session's current token.")
    user = get_user_model().objects.filter(pk=row["user_id"], is_active=True).first()
    if user is None:
        raise TokenError("user_inactive", "The session's user is inactive or gone.")
    policy = policy_for(row["security_level"], parsed.tenant_id)
    seen = row["last_seen_at"].timestamp()
    return LiveEntry(
        tenant_id=parsed.tenant_id,
        user_id=row["user_id"],
        user=user,
        level=row["security_level"],
        session_type=row["session_type"],
        ip=row["ip"],
        user_agent=row["user_agent"],
        idle_seconds=policy.idle_seconds,
        binding=policy.binding,
        last_seen=seen,
        last_written=seen,
        step_up_required=row["step_up_required"],
        first_request=now,
        signed_digest=tokens.hash_token(token) if parsed.signature is not None else "",
    )


def _refresh_from_db(parsed: tokens.ParsedToken, entry: LiveEntry) -> None:
    """Degraded mode, or a locally idle session: the database has the last word."""
    with _scope(parsed.tenant_id):
        row = (
            Session.objects.filter(pk=parsed.session_id)
            .values("last_seen_at", "revoked_at", "token_generation", "step_up_required")
            .first()
        )
    view = get_view()
    if row is None or row["revoked_at"] is not None:
        view.apply(SessionMessage.revoked(parsed.session_id, parsed.expires_at))
        raise TokenError("revoked", "The session was revoked.")
    if row["token_generation"] > parsed.generation:
        view.apply(SessionMessage.refreshed(parsed.session_id, row["token_generation"]))
        raise TokenError("revoked", "The token was replaced by a refresh.")
    entry.last_seen = max(entry.last_seen, row["last_seen_at"].timestamp())
    entry.step_up_required = row["step_up_required"]


def _same_network(a: str, b: str) -> bool:
    try:
        x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    if x.version != y.version:
        return False
    prefix = 24 if x.version == 4 else 64
    return ipaddress.ip_network(f"{a}/{prefix}", strict=False) == ipaddress.ip_network(
        f"{b}/{prefix}", strict=False
    )


def _check_binding(entry: LiveEntry, ip: str | None, user_agent: str | None) -> None:
    """Binding is checked against what the caller reports; the Python API without a
    client (ip=None) cannot be bound and is not."""
    binding = entry.binding
    if binding == BIND_EXACT:
        ip_ok = ip is None or entry.ip is None or ip == entry.ip
    elif binding == BIND_NETWORK:
        ip_ok = ip is None or entry.ip is None or _same_network(ip, entry.ip)
    else:
        return
    ua_ok = user_agent is None or not entry.user_agent or user_agent == entry.user_agent
    if not (ip_ok and ua_ok):
        raise TokenError("binding_mismatch", "The token is bound to another client.")


def validate(
    token,
    *,
    tenant_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    allow_step_up: bool = False,
) -> ValidatedSession:
    """Raises TokenError with the refusal's reason code. `allow_step_up` lets through a
    token whose only problem is a pending step-up (for the step-up endpoint alone);
    every other refusal stays."""
    parsed = tokens.parse(token)
    now = time.time()
    state = keys.key_state(parsed.tenant_id, parsed.key_version)
    if not state.accepts(parsed.key_version, now):
        _check_unaccepted_version(parsed, state, now)
    tokens.check_mac(parsed)
    if tenant_id is not None and parsed.tenant_id != tenant_id:
        _report_wrong_tenant(parsed, tenant_id, ip)
        raise TokenError("wrong_tenant", "The token belongs to another tenant.")
    if now >= parsed.expires_at:
        raise TokenError("expired", "The session has expired.")
    view = get_view()
    if view.is_dead(parsed.session_id, parsed.generation, parsed.tenant_id, parsed.issued_at):
        raise TokenError("revoked", "The session was revoked.")
    trusted = ensure_listener()
    entry = view.live.get(parsed.session_id)
    if entry is None or (
        # The signature is outside the MAC: a signed token must be the very one this
        # entry was loaded with; another (a refresh, or a replaced signature) reloads.
        parsed.signature is not None and entry.signed_digest != tokens.hash_token(token)
    ):
        entry = _load_entry(parsed, token, now)
        view.live[parsed.session_id] = entry
    elif not trusted:
        _refresh_from_db(parsed, entry)
    if not trusted:
        view.note_degraded()
    else:
        view.counters.fast_validations += 1
    if now - entry.last_seen > entry.idle_seconds:
        if trusted:
            _refresh_from_db(parsed, entry)  # another process may have seen it since
        if now - entry.last_seen > entry.idle_seconds:
            entry.failures += 1
            raise TokenError("expired", "The session has been idle too long.")
    try:
        _check_binding(entry, ip, user_agent)
    except TokenError:
        entry.failures += 1
        raise
    if entry.step_up_required and not allow_step_up:
        raise TokenError("step_up_required", "Re-authenticate to continue this session.")
    _touch(parsed, entry, now, ip, user_agent)
    return ValidatedSession(
        parsed.session_id,
        parsed.tenant_id,
        entry.user,
        entry.user_id,
        entry.level,
        entry.session_type,
        parsed.expires_at,
    )


def _check_unaccepted_version(
    parsed: tokens.ParsedToken, state: keys.SessionKeyVersions, now: float
):
    """The token names a key version this process does not accept. Returns when it is
    a newer version another process just rotated to (genuine: its MAC verifies);
    otherwise raises: `key_retired` for a genuine token of a version whose grace period
    is over (a client mistake like `expired`, never counted as forged), `bad_signature`
    for anything whose MAC does not verify."""
    tokens.check_mac(parsed, accepted_version=False)  # forged: bad_signature
    if state.existed(parsed.key_version):
        raise TokenError(
            "key_retired",
            "The token's key was retired by a key rotation and its grace period is over: "
            "sign in again.",
        )
    if keys.key_state(parsed.tenant_id, fresh=True).accepts(parsed.key_version, now):
        return
    raise TokenError("bad_signature", "The token's key version is not known.")


def _touch(parsed, entry: LiveEntry, now: float, ip, user_agent) -> None:
    entry.last_seen = now
    entry.requests += 1
    if ip is not None and len(entry.ips) < 64:
        entry.ips.add(ip)
    if user_agent is not None and len(entry.agents) < 16:
        entry.agents.add(user_agent)
    if now - entry.last_written < write_interval():
        return
    entry.last_written = now
    from sessions_mgr.analytics import live_features

    seen = datetime.fromtimestamp(now, UTC)
    with _scope(parsed.tenant_id):
        Session.objects.filter(pk=parsed.session_id).update(
            last_seen_at=seen,
            idle_expires_at=seen + timedelta(seconds=entry.idle_seconds),
            features=live_features(entry, now),
        )


def _report_wrong_tenant(parsed: tokens.ParsedToken, presented_for: int, ip) -> None:
    """A genuine token (its MAC verified) presented for another tenant: recorded in the
    token's own tenant, whose session may have leaked."""
    from sessions_mgr.actions import do_record_security_event

    log.warning(
        "session_wrong_tenant",
        extra={
            "event": "session_wrong_tenant",
            "session": parsed.session_id,
            "token_tenant": parsed.tenant_id,
            "presented_for": presented_for,
        },
    )
    do_record_security_event(
        parsed.tenant_id,
        "wrong_tenant",
        "high",
        session_id=parsed.session_id,
        source=ip or "",
        details={"presented_for_tenant": presented_for, "ip": ip},
    )
