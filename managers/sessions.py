"""The seed's Python API: `from managers import SessionManager, SessionType, SecurityLevel`.

Every method has an async form with the seed's name (`await manager.create_session(...)`)
and a sync twin suffixed `_sync` (managers/twins.py: the sync one is written, the async
one generated). Tenants are given as ids or slugs (the seed's
"enterprise_tenant": underscores read as hyphens, since slugs cannot hold them), users
as ids or usernames. Unknown tenants or users, and users who are not members, raise
SessionError with a 4xx status and a reason code.
"""

from __future__ import annotations

from managers.twins import async_twins
from sessions_mgr.models import SecurityLevel, SessionType

__all__ = ["SecurityLevel", "SessionManager", "SessionManagerFactory", "SessionType"]


def _id_ok(ref) -> bool:
    # Beyond a signed 64-bit integer no row can match; the database would overflow.
    return 0 < int(ref) < 2**63


def _tenant(ref):
    from sessions_mgr.actions import SessionError
    from tenancy.models import Tenant

    if isinstance(ref, Tenant):
        return ref
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        tenant = Tenant.objects.filter(pk=int(ref)).first() if _id_ok(ref) else None
    else:
        tenant = Tenant.objects.filter(slug=str(ref).strip().lower().replace("_", "-")).first()
    if tenant is None:
        raise SessionError(404, "unknown_tenant", f"No tenant {ref!r}.")
    if not tenant.is_active:
        raise SessionError(403, "tenant_inactive", f"Tenant {tenant.slug!r} is {tenant.state}.")
    return tenant


def _user(ref):
    from django.contrib.auth import get_user_model

    from sessions_mgr.actions import SessionError

    User = get_user_model()
    if isinstance(ref, User):
        return ref
    if isinstance(ref, int):
        user = User.objects.filter(pk=ref).first() if _id_ok(ref) else None
    else:
        user = User.objects.filter(**{User.USERNAME_FIELD: str(ref)}).first()
        if user is None and str(ref).isascii() and str(ref).isdigit() and _id_ok(ref):
            user = User.objects.filter(pk=int(ref)).first()
    if user is None or not user.is_active:
        raise SessionError(404, "unknown_user", f"No active user {ref!r}.")
    return user


@async_twins
class SessionManager:
    def __init__(self, config: str = "default"):
        self.config = config
        self.initialized = False
        self._tenant_of: dict[str, int] = {}  # sessions this manager created

    def initialize_sync(self) -> dict:
        from managers.bootstrap import initialize_managers

        report = initialize_managers()
        self.initialized = True
        return report

    def create_session_sync(
        self,
        tenant_id,
        user_id,
        session_type=SessionType.USER,
        security_level=SecurityLevel.STANDARD,
        ip: str | None = None,
        user_agent: str = "",
        device_fingerprint: str = "",
        mfa_code: str | None = None,
    ) -> tuple[str, str]:
        """At levels requiring MFA: without a valid `mfa_code` the session awaits
        step-up (`complete_step_up`); a user without an authenticator is refused."""
        from sessions_mgr.actions import SessionError, do_create_session
        from tenancy.models import Membership

        tenant, user = _tenant(tenant_id), _user(user_id)
        if not (user.is_superuser or Membership.objects.filter(user=user, tenant=tenant).exists()):
            raise SessionError(403, "not_a_member", "The user is not a member of the tenant.")
        session, token = do_create_session(
            tenant_id=tenant.pk,
            user_id=user.pk,
            session_type=session_type,
            security_level=security_level,
            ip=ip,
            user_agent=user_agent,
            device_fingerprint=device_fingerprint,
            mfa_code=mfa_code,
        )
        self._tenant_of[session.pk] = tenant.pk
        return session.pk, token

    def validate_session_sync(self, token: str, *, tenant_id=None, ip=None, user_agent=None):
        from sessions_mgr.validation import validate

        expected = _tenant(tenant_id).pk if tenant_id is not None else None
        return validate(token, tenant_id=expected, ip=ip, user_agent=user_agent)

    def refresh_session_sync(self, session_id: str, tenant_id=None) -> str:
        from sessions_mgr.actions import do_refresh_session

        with self._scope(session_id, tenant_id):
            return do_refresh_session(session_id)[1]

    def complete_step_up_sync(self, session_id: str, code: str, tenant_id=None) -> bool:
        """A valid TOTP or backup code of the session's user lifts its step-up."""
        from sessions_mgr.actions import do_complete_step_up

        with self._scope(session_id, tenant_id):
            do_complete_step_up(session_id, code)
        return True

    def revoke_session_sync(self, session_id: str, tenant_id=None, reason="revoked") -> bool:
        from sessions_mgr.actions import do_revoke_session

        with self._scope(session_id, tenant_id):
            return do_revoke_session(session_id, reason)

    def revoke_user_sessions_sync(self, tenant_id, user_id) -> int:
        from sessions_mgr.actions import do_revoke_user_sessions
        from tenancy.context import tenant_context

        with tenant_context(_tenant(tenant_id)):
            return do_revoke_user_sessions(_user(user_id).pk)

    def revoke_tenant_sessions_sync(self, tenant_id) -> int:
        from sessions_mgr.actions import do_revoke_tenant_sessions
        from tenancy.context import tenant_context

        with tenant_context(_tenant(tenant_id)):
            return do_revoke_tenant_sessions()

    def list_sessions_sync(self, tenant_id, user_id=None, active_only=True) -> list[dict]:
        from sessions_mgr.api.serializers import SessionSerializer
        from sessions_mgr.selectors import sessions_of_tenant, sessions_of_user
        from tenancy.context import tenant_context

        with tenant_context(_tenant(tenant_id)):
            rows = (
                sessions_of_user(_user(user_id).pk, active_only=active_only)
                if user_id is not None
                else sessions_of_tenant(active_only=active_only)
            )
            return SessionSerializer(rows, many=True).data

    def get_session_analytics_sync(self, session_id: str, tenant_id=None) -> dict:
        from sessions_mgr.actions import SessionError
        from sessions_mgr.analytics import session_analytics
        from sessions_mgr.selectors import get_session

        with self._scope(session_id, tenant_id):
            session = get_session(session_id)
            if session is None:
                raise SessionError(404, "not_found", "No such session.")
            return session_analytics(session)

    def _scope(self, session_id: str, tenant_id):
        """The tenant of a session: the one given, or the one it was created in by this
        manager; else the current context (which fails closed when there is none)."""
        import contextlib

        from tenancy.context import tenant_context

        if tenant_id is not None:
            return tenant_context(_tenant(tenant_id))
        known = self._tenant_of.get(session_id)
        if known is not None:
            return tenant_context(known)
        return contextlib.nullcontext()


class SessionManagerFactory:
    @staticmethod
    def create_production_manager() -> SessionManager:
        return SessionManager(config="production")

    @staticmethod
    def create_test_manager() -> SessionManager:
        return SessionManager(config="test")
