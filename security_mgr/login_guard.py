"""Sign-ins and presented tokens feed threat detection; a sign-in that is backing off is
refused before its password is checked.

Where an attempt counts (its *scopes*):
- always the platform scope: a source spraying usernames across tenants, or names that
  belong to nobody;
- the tenant the request names (`X-Tenant` or `?tenant=`), if it exists;
- every tenant the named user belongs to, so that each tenant's staff see the attacks on
  their users and each tenant's policy applies.
Each scope keeps its own counters and blocks under its own policy: one tenant's strict
policy never blocks sign-ins to another tenant.

Who is refused (security_mgr/threats.py has the budgets): a sign-in is refused before its
password is checked only when *that user from that source* is backing off. A source
backing off for other users' failures only has its failed attempts answered 429; a
correct password from it gets in. Refused bearer tokens spend a budget of their own, per
source, which no sign-in reads.

Entry points: `ThrottledModelBackend` (AUTHENTICATION_BACKENDS; the console's login form
and DRF's Basic authentication both reach it), the `user_login_failed` and
`user_logged_in` receivers, `ThrottledBasicAuthentication` (answers 429 with
Retry-After), `ThrottledAdminAuthenticationForm` (says when to retry) and
`observe_refused_token` (called by the session token authentication).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from security_mgr import threats
from tenancy.context import TenantRef, tenant_context
from tenancy.http import client_ip

log = logging.getLogger("dim.security")

MAX_SCOPES = 16
ATTEMPT_ATTR = "_dim_login_attempt"
BLOCKED_ATTR = "_dim_login_blocked"  # refused before the password check
SLOWED_ATTR = "_dim_login_slowed"  # the source backs off: a failure here gets 429
# Refusals that say someone holds a token they should not: made up, tampered with, or
# presented to the wrong tenant. Expired or revoked tokens are ordinary client mistakes.
FORGED_REASONS = frozenset({"malformed", "bad_signature", "wrong_tenant", "unsigned"})


@dataclass(frozen=True)
class Attempt:
    username: str
    ip: str
    scopes: tuple[TenantRef | None, ...]  # None: the platform scope


def source_of(request) -> str:
    """The source that threat detection counts and records: the client address, or ""
    when it is unknown (all such requests then share one budget, as they share one
    unknown address)."""
    return client_ip(request) or ""


def storable(username) -> bool:
    """False for a name no account can have: PostgreSQL cannot even compare a text with a
    NUL character (a DataError, so a 500). Such a sign-in fails like a wrong password."""
    return "\x00" not in str(username)


def _ref(tenant) -> TenantRef:
    return TenantRef.of(tenant)


def _requested_slug(request) -> str | None:
    from tenancy.resolution import TenantResolutionError, requested_slug

    try:
        return requested_slug(request)
    except TenantResolutionError:
        return None  # a malformed tenant names no scope; the request fails elsewhere


def tenant_ref_by_id(tenant_id: int) -> TenantRef | None:
    from tenancy.models import Tenant

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    return _ref(tenant) if tenant is not None else None


def scopes_for(request, user) -> tuple[TenantRef | None, ...]:
    from tenancy.models import Tenant
    from tenancy.resolution import memberships_of

    scopes: list[TenantRef | None] = [None]
    tenants = [m.tenant for m in memberships_of(user)] if user is not None else []
    slug = _requested_slug(request)
    if slug is not None:
        named = next((t for t in tenants if t.slug == slug), None)
        named = named or Tenant.objects.filter(slug=slug).first()
        if named is not None:
            tenants.insert(0, named)
    seen = set()
    for tenant in tenants:
        if tenant.pk not in seen and len(scopes) < MAX_SCOPES:
            seen.add(tenant.pk)
            scopes.append(_ref(tenant))
    return tuple(scopes)


def _in_scope(scope: TenantRef | None):
    return threats.platform_scope() if scope is None else tenant_context(scope)


def check(attempt: Attempt) -> threats.Verdict:
    """Refused when any scope has this user+source backing off; `throttled` (allowed)
    when a scope has this source backing off for its failures."""
    verdict = threats.Verdict()
    for scope in attempt.scopes:
        with _in_scope(scope):
            verdict.merge(threats.login_allowed(attempt.username, attempt.ip))
    return verdict


def observe_failure(attempt: Attempt, *, existing_user: bool, via: str) -> threats.Verdict:
    import audit_mgr as audit

    verdict = threats.Verdict()
    for scope in attempt.scopes:
        with _in_scope(scope):
            found = threats.analyze_threat("login", username=attempt.username, ip=attempt.ip)
            if scope is not None and existing_user:
                # A real account under attack: its tenants' logs record every failure.
                # Unknown names only leave events when a threshold is crossed, so that
                # guessing cannot flood the logs.
                audit.append(
                    "auth.login_failed", {"source": attempt.ip, "via": via}, actor=attempt.username
                )
        verdict.merge(found)
    return verdict


def _via(request) -> str:
    return "api" if request is not None and hasattr(request, "_request") else "console"


# --- Django authentication ------------------------------------------------------------


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that asks threat detection first: a user+source or a source that is
    backing off is refused without its password being checked (PermissionDenied stops
    Django's authenticate() at once)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is not None and not storable(username):
            return None
        if request is None or username is None or password is None:
            # No source to attribute (programmatic use by trusted code): plain checks.
            return super().authenticate(request, username, password, **kwargs)
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # same cost as a real check (ModelBackend does)
            user = None
        attempt = Attempt(str(username)[:150], source_of(request), scopes_for(request, user))
        setattr(request, ATTEMPT_ATTR, (attempt, user is not None))
        verdict = check(attempt)
        if not verdict.allowed:
            setattr(request, BLOCKED_ATTR, verdict)
            raise PermissionDenied("sign-in backing off")
        if verdict.throttled:
            setattr(request, SLOWED_ATTR, verdict)
        if user is not None and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, BLOCKED_ATTR, None) is not None:
        return  # refused before any password check: not a new failure
    found = getattr(request, ATTEMPT_ATTR, None)
    if found is None:
        username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:150]
        if not username or not storable(username):
            return
        user = get_user_model()._default_manager.filter(username=username).first()
        found = (Attempt(username, source_of(request), scopes_for(request, user)), bool(user))
    attempt, existing = found
    verdict = observe_failure(attempt, existing_user=existing, via=_via(request))
    if not verdict.allowed:
        log.warning(
            "login_backing_off",
            extra={"event": "login_backing_off", "source": attempt.ip, "user": attempt.username},
        )


def _audit_in_scopes(scopes, event: str, ip: str, actor: str) -> None:
    """Into each tenant's log among `scopes`; the platform log for a user with none (a
    platform operator)."""
    import audit_mgr as audit

    tenants = [scope for scope in scopes if scope is not None]
    for tenant in tenants:
        with tenant_context(tenant):
            audit.append(event, {"source": ip}, actor=actor)
    if not tenants:
        audit.append(event, {"source": ip}, actor=actor, log=audit.platform_log())


def on_logged_in(sender, request, user, **kwargs):
    """An interactive sign-in: the user proved themselves from this source (resets that
    counter in every scope) and the sign-in is recorded in the user's tenants' logs."""
    if request is None:
        return
    attempt = Attempt(user.get_username(), source_of(request), scopes_for(request, user))
    for scope in attempt.scopes:
        with _in_scope(scope):
            threats.analyze_threat("login", username=attempt.username, ip=attempt.ip, success=True)
    _audit_in_scopes(attempt.scopes, "auth.login", attempt.ip, attempt.username)


def on_logged_out(sender, request, user, **kwargs):
    if request is None or user is None:
        return
    scopes = scopes_for(request, user)
    _audit_in_scopes(scopes, "auth.logout", source_of(request), user.get_username())


# --- the console's form and DRF --------------------------------------------------------


def _retry_text(verdict: threats.Verdict) -> int:
    return max(1, math.ceil(verdict.retry_after))


def throttled_sign_in(request) -> threats.Verdict | None:
    """Why a failed sign-in of this request is answered 429, if it is: the user+source
    was refused before the password check, or the source backs off for its failures."""
    if request is None:
        return None
    for attr in (BLOCKED_ATTR, SLOWED_ATTR):
        verdict = getattr(request, attr, None)
        if verdict is not None and verdict.throttled:
            return verdict
    return None


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    def get_invalid_login_error(self):
        verdict = throttled_sign_in(self.request)
        if verdict is not None:
            return ValidationError(
                _("%(what)s. Try again in %(seconds)s s."),
                code="throttled",
                params={"what": verdict.message, "seconds": _retry_text(verdict)},
            )
        return super().get_invalid_login_error()


class ThrottledBasicAuthentication(BasicAuthentication):
    def authenticate_credentials(self, userid, password, request=None):
        if not storable(userid):
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            verdict = throttled_sign_in(request)
            if verdict is not None:
                raise exceptions.Throttled(
                    wait=_retry_text(verdict), detail=f"{verdict.message}."
                ) from None
            raise


# --- session tokens ---------------------------------------------------------------------


def observe_refused_token(request, reason: str, claimed_tenant_id: int | None) -> None:
    """Forged, tampered or other-tenant tokens count against their source in the
    platform scope (a spray over many claimed tenants) and in the tenant they claim, if
    it exists. Raises Throttled when the source is now backing off, so a burst gets 429
    rather than more 401s. Only refusals pay for this: a valid token never reaches it,
    and no sign-in budget is touched. Tokens refused as expired, revoked or signed with
    a key retired by rotation (`key_retired`) are ordinary client mistakes: not counted."""
    if reason not in FORGED_REASONS:
        return
    ip = source_of(request)
    details = {"reason": reason, "path": request.path[:200]}
    tenant = tenant_ref_by_id(claimed_tenant_id) if claimed_tenant_id else None
    verdict = threats.Verdict()
    for scope in (None, tenant) if tenant is not None else (None,):
        with _in_scope(scope):
            verdict.merge(threats.analyze_threat("token_invalid", ip=ip, details=details))
    if not verdict.allowed:
        raise exceptions.Throttled(wait=_retry_text(verdict), detail=f"{verdict.message}.")
