"""`Authorization: Bearer <session token>` for the whole API (first of DRF's
DEFAULT_AUTHENTICATION_CLASSES). A token names its tenant: `TenantAPIMixin` acts in
that tenant (`request.auth.tenant_id`), and an `X-Tenant` naming another tenant is
refused here as `wrong_tenant` and reported."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import ValidatedSession, validate
from tenancy import hooks, resettable
from tenancy.http import client_ip
from tenancy.resolution import TENANT_HEADER, requested_slug

_slug_ids: dict[str, int] = {}
resettable.register(_slug_ids.clear, name="sessions_mgr.authentication._slug_ids")
UNKNOWN_TENANT = -1


class TokenRefused(exceptions.AuthenticationFailed):
    def __init__(self, reason: str, message: str):
        super().__init__(detail=message, code=reason)


def tenant_id_for_slug(slug: str) -> int:
    """Slugs do not change; a process keeps what it looked up."""
    cached = _slug_ids.get(slug)
    if cached is None:
        from tenancy.models import Tenant

        cached = Tenant.objects.filter(slug=slug).values_list("id", flat=True).first()
        if cached is None:
            return UNKNOWN_TENANT
        _slug_ids[slug] = cached
    return cached


def memberships_for(user) -> list:
    """The user's memberships for tenant resolution: tenancy's per-process copy (kept
    current over pub/sub), the shared cache or the database, as for any request."""
    from tenancy.resolution import memberships_of

    return memberships_of(user)


def _observe_refusal(request, token: str, reason: str, expected: int | None) -> None:
    """Threat detection hears of forged and other-tenant tokens (and may answer 429)
    through `tenancy.hooks.session_token_refused`."""
    from sessions_mgr import tokens

    if reason == "wrong_tenant":
        claimed = expected if expected != UNKNOWN_TENANT else None
    else:
        try:
            claimed = tokens.parse(token).tenant_id
        except TokenError:
            claimed = None
    hooks.session_token_refused.call(request, reason, claimed)


class SessionTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"
    allow_step_up = False

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise TokenRefused("malformed", "Authorization: Bearer <token>, one token.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenRefused("malformed", "The token is not a session token.")
        # An X-Tenant is checked as without a token (empty or malformed: 400
        # invalid_tenant); one naming another tenant is this token's refusal below.
        slug = requested_slug(request) if TENANT_HEADER in request.META else None
        expected = tenant_id_for_slug(slug) if slug else None
        try:
            session: ValidatedSession = validate(
                token,
                tenant_id=expected,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                allow_step_up=self.allow_step_up,
            )
        except TokenError as exc:
            _observe_refusal(request, token, exc.reason, expected)
            raise TokenRefused(exc.reason, exc.message)
        session.memberships = memberships_for(session.user)
        return session.user, session

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class StepUpTokenAuthentication(SessionTokenAuthentication):
    """The step-up endpoint's only authentication: the session's own token, accepted
    although its session awaits step-up (that is what the endpoint is for)."""

    allow_step_up = True
