"""MFA API: TOTP, backup codes and passkeys, each member managing their own factors.

Adding a factor (a TOTP device, new backup codes, a passkey) when the user already has
one needs that factor first: a console session that passed the step. Otherwise a
password alone would enrol a new factor and then pass the console's step with it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response

from audit_mgr.api.base import SecurityView, validated
from security_mgr.api import responses as r
from security_mgr.api import serializers as s
from tenancy.api.errors import TenantAPIError
from tenancy.models import Role


def _console_session_passed(request) -> bool:
    from security_mgr.middleware import mfa_passed

    return isinstance(request.successful_authenticator, SessionAuthentication) and mfa_passed(
        request
    )


def _mark_console_session(request) -> None:
    """Proving a new factor in a console session counts as passing the step there."""
    from security_mgr.middleware import mark_mfa_passed

    if isinstance(request.successful_authenticator, SessionAuthentication):
        mark_mfa_passed(request)


class MFAView(SecurityView):
    read_role = Role.VIEWER
    write_role = Role.VIEWER
    adds_factor = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.adds_factor and not _console_session_passed(request):
            from security_mgr.mfa import enrolled_anywhere

            if enrolled_anywhere(request.user):
                raise TenantAPIError(
                    403,
                    "mfa_required",
                    "You already have a second factor: pass it in the console "
                    "(/console/mfa/), then add the new one from that session.",
                )

    def handle_exception(self, exc):
        from security_mgr.mfa import MFAError, MFALocked

        if isinstance(exc, MFALocked):
            exc = TenantAPIError(429, exc.code, str(exc))
        elif isinstance(exc, MFAError):
            exc = TenantAPIError(400, exc.code, str(exc))
        return super().handle_exception(exc)


class EnrollTOTPView(MFAView):
    adds_factor = True

    @extend_schema(request=s.EnrollTOTPSerializer, responses={201: r.TOTPEnrolledSerializer})
    def post(self, request, *args, **kwargs):
        from security_mgr import mfa

        data = validated(s.EnrollTOTPSerializer, request.data)
        device, uri = mfa.enroll_totp(request.user, name=data["name"], issuer="DIM")
        return Response({"device": str(device.pk), "otpauth_uri": uri}, status=201)


class ConfirmTOTPView(MFAView):
    @extend_schema(request=s.ConfirmTOTPSerializer, responses=r.ConfirmedSerializer)
    def post(self, request, *args, **kwargs):
        from django.http import Http404

        from security_mgr import mfa
        from security_mgr.models import TOTPDevice

        data = validated(s.ConfirmTOTPSerializer, request.data)
        if not TOTPDevice.objects.filter(pk=data["device"], user=request.user).exists():
            raise Http404
        confirmed = mfa.confirm_totp(data["device"], data["code"])
        if confirmed:
            _mark_console_session(request)
        return Response({"confirmed": confirmed})


class VerifyTOTPView(MFAView):
    @extend_schema(request=s.CodeSerializer, responses=r.VerifiedSerializer)
    def post(self, request, *args, **kwargs):
        from security_mgr import mfa

        data = validated(s.CodeSerializer, request.data)
        return Response({"verified": mfa.verify_totp(request.user, data["code"])})


class BackupCodesView(MFAView):
    adds_factor = True

    @extend_schema(request=None, responses={201: r.BackupCodesSerializer})
    def post(self, request, *args, **kwargs):
        from security_mgr import mfa

        return Response({"codes": mfa.generate_backup_codes(request.user)}, status=201)


class UseBackupCodeView(MFAView):
    @extend_schema(request=s.CodeSerializer, responses=r.VerifiedSerializer)
    def post(self, request, *args, **kwargs):
        from security_mgr import mfa

        data = validated(s.CodeSerializer, request.data)
        return Response({"verified": mfa.use_backup_code(request.user, data["code"])})


class PasskeyView(MFAView):
    def handle_exception(self, exc):
        from security_mgr.passkeys import PasskeyError

        if isinstance(exc, PasskeyError):
            exc = TenantAPIError(400, exc.code, str(exc))
        return super().handle_exception(exc)


class PasskeyRegisterOptionsView(PasskeyView):
    adds_factor = True

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)  # WebAuthn creation options
    def post(self, request, *args, **kwargs):
        from security_mgr import passkeys

        return Response(passkeys.registration_options_for(request))


class PasskeyRegisterView(PasskeyView):
    adds_factor = True

    @extend_schema(request=s.PasskeyRegisterSerializer, responses={201: r.PasskeyCreatedSerializer})
    def post(self, request, *args, **kwargs):
        from security_mgr import passkeys

        data = validated(s.PasskeyRegisterSerializer, request.data)
        rp_id, origin = passkeys.relying_party(request)
        passkey = passkeys.register(
            request.user, data["credential"], rp_id=rp_id, origin=origin, name=data["name"]
        )
        _mark_console_session(request)
        return Response({"passkey": str(passkey.pk)}, status=201)


class PasskeyAuthenticateOptionsView(PasskeyView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)  # WebAuthn request options
    def post(self, request, *args, **kwargs):
        from security_mgr import passkeys

        rp_id, _origin = passkeys.relying_party(request)
        return Response(passkeys.authentication_options(request.user, rp_id=rp_id))


class PasskeyAuthenticateView(PasskeyView):
    @extend_schema(request=s.PasskeyAuthenticateSerializer, responses=r.PasskeyVerifiedSerializer)
    def post(self, request, *args, **kwargs):
        from security_mgr import passkeys

        data = validated(s.PasskeyAuthenticateSerializer, request.data)
        rp_id, origin = passkeys.relying_party(request)
        passkey = passkeys.authenticate(
            request.user, data["credential"], rp_id=rp_id, origin=origin
        )
        return Response({"verified": True, "passkey": str(passkey.pk)})
