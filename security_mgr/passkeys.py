"""WebAuthn passkeys (the `webauthn` library) with user verification required.

Challenges live in the tenant-namespaced cache for five minutes and are used once.
Every malformed or failing response raises `PasskeyError` naming the reason (the API
answers 400)."""

from __future__ import annotations

import json
import os

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from security_mgr import audit
from security_mgr.models import PasskeyCredential

CHALLENGE_SECONDS = 300


class PasskeyError(ValueError):
    code = "passkey_invalid"


def _challenge_key(kind: str, user) -> str:
    return f"webauthn:{kind}:{user.pk}"


def _take_challenge(kind: str, user) -> bytes:
    key = _challenge_key(kind, user)
    challenge = cache.get(key)
    cache.delete(key)  # single use, whatever the outcome
    if challenge is None:
        raise PasskeyError("no pending challenge (expired or already used): ask for options")
    return challenge


def _as_dict(credential) -> dict:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            raise PasskeyError("the credential is not JSON") from None
    if not isinstance(credential, dict):
        raise PasskeyError("the credential must be a JSON object")
    return credential


def registration_options(user, *, rp_id: str, rp_name: str) -> dict:
    challenge = os.urandom(32)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_name=user.get_username(),
        user_id=str(user.pk).encode(),
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            user_verification=UserVerificationRequirement.REQUIRED,
            resident_key=ResidentKeyRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(c))
            for c in PasskeyCredential.objects.filter(user=user).values_list(
                "credential_id", flat=True
            )
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
        raise PasskeyError(f"registration refused: {exc}") from None
    with transaction.atomic():
        passkey = PasskeyCredential.objects.create(
            user=user,
            name=name[:60],
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
        )
        audit.append(
            "mfa.passkey_registered", {"passkey": str(passkey.pk)}, actor=user.get_username()
        )
    return passkey


def authentication_options(user, *, rp_id: str) -> dict:
    challenge = os.urandom(32)
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(c))
            for c in PasskeyCredential.objects.filter(user=user).values_list(
                "credential_id", flat=True
            )
        ],
    )
    cache.set(_challenge_key("authenticate", user), challenge, CHALLENGE_SECONDS)
    return json.loads(options_to_json(options))


def authenticate(user, credential, *, rp_id: str, origin: str) -> PasskeyCredential:
    challenge = _take_challenge("authenticate", user)
    data = _as_dict(credential)
    from webauthn.helpers import base64url_to_bytes

    try:
        raw_id = base64url_to_bytes(data.get("rawId") or data.get("id") or "")
    except (ValueError, TypeError):
        raise PasskeyError("the credential id is not base64url") from None
    failure = None
    with transaction.atomic():
        passkey = (
            PasskeyCredential.objects.select_for_update()
            .filter(user=user, credential_id=raw_id)
            .first()
        )
        if passkey is None:
            raise PasskeyError("unknown passkey for this user")
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
            failure = f"authentication refused: {exc}"
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
