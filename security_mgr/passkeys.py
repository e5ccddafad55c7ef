"""WebAuthn passkeys (the `webauthn` library) with user verification required.

The API's challenges live in the tenant-namespaced cache for five minutes and are used
once; the console keeps its own in the browser session (see security_mgr.console), so
its step can offer the passkeys of every tenant of the user. Every malformed or failing
response raises `PasskeyError` naming the reason (the API answers 400)."""

from __future__ import annotations

import ipaddress
import json
import os

from django.conf import settings
from django.core.cache import cache
from django.http.request import split_domain_port
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

import audit_mgr as audit
from security_mgr import mfa
from security_mgr.models import PasskeyCredential
from tenancy import db as tenant_db
from tenancy.context import tenant_context

CHALLENGE_SECONDS = 300


class PasskeyError(ValueError):
    code = "passkey_invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


def relying_party(request) -> tuple[str, str]:
    """(rp_id, origin): from settings, or the request's own host.

    Browsers refuse an IP address as a relying party id ("invalid domain"), so a console
    opened at http://127.0.0.1:8000/ gets a refusal that says what to do instead."""
    host = request.get_host()
    domain, port = split_domain_port(host)
    rp_id = settings.WEBAUTHN_RP_ID or domain
    origin = settings.WEBAUTHN_ORIGIN or f"{request.scheme}://{host}"
    try:
        ipaddress.ip_address(rp_id.strip("[]"))
    except ValueError:
        return rp_id, origin
    where = f"http://localhost:{port}/" if port else "http://localhost/"
    raise PasskeyError(
        _(
            "Passkeys need a host name, and this page was opened at the IP address %(ip)s: "
            "open it by name (e.g. %(where)s) or set WEBAUTHN_RP_ID."
        )
        % {"ip": rp_id, "where": where},
        code="passkey_host_invalid",
    )


def _challenge_key(kind: str, user) -> str:
    return f"webauthn:{kind}:{user.pk}"


def _take_challenge(kind: str, user) -> bytes:
    key = _challenge_key(kind, user)
    challenge = cache.get(key)
    cache.delete(key)  # single use, whatever the outcome
    if challenge is None:
        raise PasskeyError(_("no pending challenge (expired or already used): ask for options"))
    return challenge


def _as_dict(credential) -> dict:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            raise PasskeyError(_("the credential is not JSON")) from None
    if not isinstance(credential, dict):
        raise PasskeyError(_("the credential must be a JSON object"))
    return credential


def _raw_id(data: dict) -> bytes:
    try:
        return base64url_to_bytes(data.get("rawId") or data.get("id") or "")
    except (ValueError, TypeError):
        raise PasskeyError(_("the credential id is not base64url")) from None


def credential_ids(user, tenant_ids=None) -> list[bytes]:
    """The user's credential ids in the tenant in context, or in each of `tenant_ids`
    (each read in its own tenant's context)."""

    def here():
        rows = PasskeyCredential.objects.filter(user=user).values_list("credential_id", flat=True)
        return [bytes(c) for c in rows]

    if tenant_ids is None:
        return here()
    ids = []
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            ids += here()
    return ids


def registration_options_for(request) -> dict:
    """The options with which the signed-in user of `request` registers a passkey in the
    tenant in context: the one builder for the console and the API. Excludes the
    credentials the user holds in any tenant where they have a factor."""
    rp_id, _origin = relying_party(request)
    return registration_options(
        request.user, rp_id=rp_id, exclude_tenant_ids=mfa.enrolled_tenants(request.user)
    )


def registration_options(user, *, rp_id: str, exclude_tenant_ids=None) -> dict:
    """Registers in the tenant in context; `exclude_tenant_ids` widens the list of
    credentials the authenticator must not duplicate (a device that already holds one of
    the user's passkeys would otherwise replace it with a new one). The relying party's
    display name is `WEBAUTHN_RP_NAME`."""
    challenge = os.urandom(32)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_name=user.get_username(),
        user_id=str(user.pk).encode(),
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            user_verification=UserVerificationRequirement.REQUIRED,
            resident_key=ResidentKeyRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=c) for c in credential_ids(user, exclude_tenant_ids)
        ],
    )
    cache.set(_challenge_key("register", user), challenge, CHALLENGE_SECONDS)
    return json.loads(options_to_json(options))


def register(user, credential, *, rp_id: str, origin: str, name: str = "passkey"):
    challenge = _take_challenge("register", user)
    try:
        verified = verify_registration_response(
            credential=_as_dict(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(_("registration refused: %(reason)s") % {"reason": exc}) from None
    with tenant_db.atomic():
        passkey = PasskeyCredential.objects.create(
            user=user,
            name=(name or "passkey")[:60],
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            user_verified=verified.user_verified,
        )
        audit.append(
            "mfa.passkey_registered",
            {"passkey": str(passkey.pk), "user_verified": verified.user_verified},
            actor=user.get_username(),
        )
    return passkey


def _request_options(rp_id: str, ids: list[bytes], challenge: bytes) -> dict:
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in ids],
    )
    return json.loads(options_to_json(options))


def authentication_options(user, *, rp_id: str, tenant_ids=None) -> dict:
    """Options for the user's passkeys in the tenant in context (or in `tenant_ids`);
    the challenge waits in the cache (see `authenticate`)."""
    challenge = os.urandom(32)
    options = _request_options(rp_id, credential_ids(user, tenant_ids), challenge)
    cache.set(_challenge_key("authenticate", user), challenge, CHALLENGE_SECONDS)
    return options


def console_authentication_options(user, *, rp_id: str, tenant_ids) -> tuple[dict, bytes]:
    """(options, challenge) over every tenant in `tenant_ids`; the caller keeps the
    challenge (the console: in the browser session) and hands it to
    `authenticate_in_tenants`."""
    ids = credential_ids(user, tenant_ids)
    if not ids:
        raise PasskeyError(
            _("You have no passkey: use a code from your authenticator app or a backup code."),
            code="no_passkey",
        )
    challenge = os.urandom(32)
    return _request_options(rp_id, ids, challenge), challenge


def _verify_here(user, data: dict, raw_id: bytes, challenge: bytes, rp_id: str, origin: str):
    """Verify the assertion against the user's passkey in the tenant in context; the
    outcome is appended to that tenant's audit log."""
    failure = None
    with tenant_db.atomic():
        passkey = (
            PasskeyCredential.objects.select_for_update()
            .filter(user=user, credential_id=raw_id)
            .first()
        )
        if passkey is None:
            raise PasskeyError(_("unknown passkey for this user"))
        try:
            verified = verify_authentication_response(
                credential=data,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            failure = _("authentication refused: %(reason)s") % {"reason": exc}
        else:
            passkey.sign_count = verified.new_sign_count
            passkey.last_used_at = timezone.now()
            passkey.save(update_fields=["sign_count", "last_used_at"])
        audit.append(
            "mfa.passkey_failed" if failure else "mfa.passkey_verified",
            {"passkey": str(passkey.pk)},
            actor=user.get_username(),
        )
    if failure:
        raise PasskeyError(failure)
    return passkey


def authenticate(user, credential, *, rp_id: str, origin: str) -> PasskeyCredential:
    challenge = _take_challenge("authenticate", user)
    data = _as_dict(credential)
    return _verify_here(user, data, _raw_id(data), challenge, rp_id, origin)


def authenticate_in_tenants(
    user, credential, *, challenge: bytes, rp_id: str, origin: str, tenant_ids
) -> PasskeyCredential:
    """Verify against whichever of `tenant_ids` holds the credential, in that tenant's
    context (another user's passkey, or one in a tenant not listed, is unknown)."""
    data = _as_dict(credential)
    raw_id = _raw_id(data)
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            if PasskeyCredential.objects.filter(user=user, credential_id=raw_id).exists():
                return _verify_here(user, data, raw_id, challenge, rp_id, origin)
    raise PasskeyError(_("unknown passkey for this user"))
