"""Session API under /api/v1/sessions/ (and the seed's aliases, config/urls.py).

Creating a session is the login step: authenticate any other way (password, or an
existing session token) and get a token for the tenant you act in. Acting on another
user's sessions needs the admin role in the tenant."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from sessions_mgr import actions, keys, selectors
from sessions_mgr.analytics import session_analytics
from sessions_mgr.api import responses as r
from sessions_mgr.api.serializers import (
    CreateSessionSerializer,
    RevokeAllSerializer,
    SessionSerializer,
    StepUpSerializer,
)
from sessions_mgr.authentication import StepUpTokenAuthentication, TokenRefused
from sessions_mgr.fastpath import get_view
from sessions_mgr.validation import ValidatedSession
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.api.pagination import TenantPagination
from tenancy.api.permissions import IsPlatformOperator
from tenancy.http import client_ip
from tenancy.models import ROLE_RANK, Membership, Role, Tenant


def _is_admin(request) -> bool:
    return ROLE_RANK[Role(request.tenant_role)] >= ROLE_RANK[Role.ADMIN]


def _raise(exc: actions.SessionError):
    raise TenantAPIError(exc.status, exc.code, exc.message)


def _own_or_admin(request, session_id: str):
    session = selectors.get_session(session_id)
    if session is None:
        raise NotFound()
    if session.user_id != request.user.pk and not _is_admin(request):
        raise NotFound()  # someone else's session: same answer as a missing one
    return session


class SessionListCreateView(TenantAPIView):
    write_role = Role.VIEWER  # logging in is open to every member
    body_tenant_field = "tenant_id"  # the seed's body may name the tenant
    pagination_class = TenantPagination

    @extend_schema(
        responses=SessionSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "user",
                {"type": "string", "pattern": r"^[0-9]{1,18}$"},
                description="Admins: only this user's sessions (a user id).",
            ),
            OpenApiParameter(
                "active", str, description="`0` or `false`: ended sessions too (default: 1)."
            ),
        ],
    )
    def get(self, request, *args, **kwargs):
        active_only = request.query_params.get("active", "1") not in ("0", "false")
        if _is_admin(request):
            queryset = selectors.sessions_of_tenant(active_only=active_only)
            user = request.query_params.get("user")
            if user is not None:
                if not (user.isascii() and user.isdigit() and len(user) <= 18):
                    raise TenantAPIError(400, "invalid", "user must be a user id.")
                queryset = queryset.filter(user_id=int(user))
        else:
            queryset = selectors.sessions_of_user(request.user.pk, active_only=active_only)
        page = self.paginator.paginate_queryset(queryset, request, view=self)
        return self.paginator.get_paginated_response(SessionSerializer(page, many=True).data)

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = self.pagination_class()
        return self._paginator

    @extend_schema(request=CreateSessionSerializer, responses={201: r.SessionWithTokenSerializer})
    def post(self, request, *args, **kwargs):
        data = CreateSessionSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        user_id = data.validated_data.get("user_id", request.user.pk)
        if user_id != request.user.pk:
            if not _is_admin(request):
                raise PermissionDenied("Only admins create sessions for other users.")
            if not Membership.objects.filter(user_id=user_id, tenant=request.tenant).exists():
                raise TenantAPIError(400, "unknown_user", "No such member of this tenant.")
        try:
            session, token = actions.do_create_session(
                tenant_id=request.tenant.pk,
                user_id=user_id,
                session_type=data.validated_data["session_type"],
                security_level=data.validated_data["security_level"],
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                device_fingerprint=data.validated_data["device_fingerprint"],
                mfa_code=data.validated_data["mfa_code"] or None,
            )
        except actions.SessionError as exc:
            _raise(exc)
        body = SessionSerializer(session).data
        body["token"] = token
        return Response(body, status=status.HTTP_201_CREATED)


class SessionDetailView(TenantAPIView):
    @extend_schema(responses=SessionSerializer)
    def get(self, request, session_id, *args, **kwargs):
        return Response(SessionSerializer(_own_or_admin(request, session_id)).data)


class SessionValidateView(TenantAPIView):
    """`Authorization: Bearer <token>`: 200 with the session when the token is valid
    and belongs to this session; 401 with a reason code otherwise."""

    @extend_schema(responses=r.SessionValidationSerializer)
    def get(self, request, session_id, *args, **kwargs):
        auth = request.auth
        if not isinstance(auth, ValidatedSession):
            raise TokenRefused("missing", "Send the session token as Authorization: Bearer.")
        if auth.session_id != session_id:
            raise TokenRefused("wrong_session", "The token belongs to another session.")
        return Response(
            {
                "valid": True,
                "session_id": auth.session_id,
                "tenant": request.tenant.slug,
                "user_id": auth.user_id,
                "security_level": auth.level,
                "session_type": auth.session_type,
                "expires_at": auth.expires_at,
            }
        )


class SessionRefreshView(TenantAPIView):
    write_role = Role.VIEWER

    @extend_schema(request=None, responses=r.SessionWithTokenSerializer)
    def post(self, request, session_id, *args, **kwargs):
        _own_or_admin(request, session_id)
        try:
            session, token = actions.do_refresh_session(session_id)
        except actions.SessionError as exc:
            _raise(exc)
        body = SessionSerializer(session).data
        body["token"] = token
        return Response(body)


class SessionStepUpView(TenantAPIView):
    """`Authorization: Bearer <the session's own token>` and `{"code": "<TOTP or backup
    code>"}`: a valid code lifts the session's step-up. Only the session's own token is
    accepted (pending step-up or not); any other session id, of this tenant or another,
    or missing, answers the same 404."""

    authentication_classes = [StepUpTokenAuthentication]
    write_role = Role.VIEWER

    @extend_schema(request=StepUpSerializer, responses=r.StepUpDoneSerializer)
    def post(self, request, session_id, *args, **kwargs):
        auth = request.auth
        if not isinstance(auth, ValidatedSession):
            raise TokenRefused("missing", "Send the session token as Authorization: Bearer.")
        if auth.session_id != session_id:
            raise NotFound()
        data = StepUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            session = actions.do_complete_step_up(session_id, data.validated_data["code"])
        except actions.SessionError as exc:
            _raise(exc)
        return Response({"session_id": session.pk, "step_up_required": False})


class SessionRevokeView(TenantAPIView):
    write_role = Role.VIEWER

    @extend_schema(request=None, responses=r.SessionRevokedSerializer)
    def post(self, request, session_id, *args, **kwargs):
        _own_or_admin(request, session_id)
        actions.do_revoke_session(session_id, reason="revoked_by_api")
        return Response({"revoked": True, "session_id": session_id})


class SessionRevokeAllView(TenantAPIView):
    write_role = Role.VIEWER

    @extend_schema(request=RevokeAllSerializer, responses=r.SessionsRevokedSerializer)
    def post(self, request, *args, **kwargs):
        data = RevokeAllSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        user_id = data.validated_data.get("user_id", request.user.pk)
        wants_tenant = data.validated_data["tenant"]
        if (wants_tenant or user_id != request.user.pk) and not _is_admin(request):
            raise PermissionDenied("Only admins end other users' sessions.")
        if wants_tenant:
            count = actions.do_revoke_tenant_sessions(reason="tenant_sign_out")
            return Response({"revoked": count, "scope": "tenant"})
        count = actions.do_revoke_user_sessions(user_id)
        return Response({"revoked": count, "scope": "user", "user_id": user_id})


class SessionAnalyticsView(TenantAPIView):
    """Read only: the score now and the last evaluation's (the tasks evaluate and act)."""

    @extend_schema(responses=r.SessionAnalyticsSerializer)
    def get(self, request, session_id, *args, **kwargs):
        session = _own_or_admin(request, session_id)
        return Response(session_analytics(session))


class RotateSessionKeyView(TenantAPIView):
    write_role = Role.ADMIN

    @extend_schema(request=None, responses=r.SessionKeyStateSerializer)
    def post(self, request, *args, **kwargs):
        state = actions.do_rotate_session_key()
        return Response(state.as_value())


class TenantPublicKeysView(TenantAPIView):
    """The tenant's ML-DSA-65 public keys (raw, base64url), by key version, for offline
    verification of quantum-level tokens. Public by nature: no authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    tenant_required = False

    @extend_schema(responses=r.TenantPublicKeysSerializer)
    def get(self, request, slug, *args, **kwargs):
        import base64

        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise NotFound()
        state = keys.key_state(tenant.pk)
        versions = state.accepted_versions()  # current first, then the grace period's
        return Response(
            {
                "tenant": tenant.slug,
                "algorithm": "ML-DSA-65",
                "token_format": "dst1",
                "keys": [
                    {
                        "version": v,
                        "public_key": base64.urlsafe_b64encode(keys.public_key_bytes(tenant.pk, v))
                        .rstrip(b"=")
                        .decode(),
                        "current": v == state.current,
                    }
                    for v in versions
                ],
            }
        )


class SessionViewHealthView(TenantAPIView):
    """This process's session view: trusted or degraded, and its counters (platform
    operators). Degraded means every validation reads the database."""

    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses=r.SessionViewHealthSerializer)
    def get(self, request, *args, **kwargs):
        view = get_view()
        return Response(
            {
                "mode": "fast" if view.healthy else "database",
                "revoked_known": len(view.revoked),
                "sessions_cached": len(view.live),
                "counters": view.counters.as_dict(),
            }
        )


@extend_schema(exclude=True)  # documented once, under the trailing-slash path
class SessionStepUpAliasView(SessionStepUpView):
    pass
