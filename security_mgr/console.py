"""The console's second factor: the step (see security_mgr.middleware) and the page where
a user registers passkeys. The JSON endpoints answer every refusal as a 4xx
`{"error": {"code", "message"}}` that the page shows as it is."""

from __future__ import annotations

import base64
import json
import time

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from security_mgr import mfa, passkeys
from security_mgr.middleware import mark_mfa_passed
from security_mgr.models import PasskeyCredential
from tenancy.console import console_context

CHALLENGE_KEY = "dim_webauthn_console"


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/admin/"
    return target


@login_required
def mfa_step(request):
    target = _safe_next(request)
    error = ""
    if request.method == "POST":
        try:
            if mfa.verify_any(request.user, request.POST.get("code", "")):
                mark_mfa_passed(request)
                return redirect(target)
            error = "That code is not valid (or was already used)."
        except mfa.MFALocked as exc:
            error = str(exc)
        except ValueError as exc:
            error = f"Invalid code: {exc}."
    status = 400 if error and "Invalid" in error else 200
    context = {
        **console_context(request, _("Second factor")),
        # No sidebar before the second factor: every link in it would lead back here.
        "is_nav_sidebar_enabled": False,
        "error": error,
        "next": target,
        "next_json": json.dumps(target).replace("<", "\\u003c"),
    }
    return render(request, "security/mfa_step.html", context, status=status)


def _stash_challenge(request, challenge: bytes) -> None:
    request.session[CHALLENGE_KEY] = {
        "challenge": base64.b64encode(challenge).decode(),
        "expires": time.time() + passkeys.CHALLENGE_SECONDS,
    }


def _take_challenge(request) -> bytes:
    stashed = request.session.pop(CHALLENGE_KEY, None)  # single use, whatever the outcome
    if not isinstance(stashed, dict) or stashed.get("expires", 0) < time.time():
        raise passkeys.PasskeyError(
            "no pending challenge (expired or already used): press the button again"
        )
    return base64.b64decode(stashed["challenge"])


def _body(request):
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


@login_required
@require_POST
def mfa_passkey_options(request):
    """Options over the passkeys of every tenant of the user: the factor is the person's,
    whatever tenant the console acts in (see `mfa.enrolled_tenants`)."""
    try:
        rp_id, _origin = passkeys.relying_party(request)
        options, challenge = passkeys.console_authentication_options(
            request.user, rp_id=rp_id, tenant_ids=mfa.enrolled_tenants(request.user)
        )
    except passkeys.PasskeyError as exc:
        return _json_error(400, exc.code, str(exc))
    _stash_challenge(request, challenge)
    return JsonResponse(options)


@login_required
@require_POST
def mfa_passkey(request):
    try:
        challenge = _take_challenge(request)
        rp_id, origin = passkeys.relying_party(request)
        passkeys.authenticate_in_tenants(
            request.user,
            _body(request),
            challenge=challenge,
            rp_id=rp_id,
            origin=origin,
            tenant_ids=mfa.enrolled_tenants(request.user),
        )
    except passkeys.PasskeyError as exc:
        return _json_error(400, exc.code, str(exc))
    mark_mfa_passed(request)
    return JsonResponse({"verified": True})


@login_required
def passkey_page(request):
    """The user's passkeys in the tenant the console acts in, and the button that
    registers one there (the middleware already asked enrolled users for a factor)."""
    rows = []
    if request.tenant is not None:
        rows = PasskeyCredential.objects.filter(user=request.user).order_by("created_at")
    return render(
        request,
        "security/passkeys.html",
        {"passkeys": rows, **console_context(request, _("Passkeys"))},
    )


def _enrolment_refusal(request):
    if request.tenant is None:
        return _json_error(
            400,
            "tenant_required",
            "Choose a tenant in the console first: a passkey is kept in one tenant.",
        )
    return None


@login_required
@require_POST
def passkey_register_options(request):
    refusal = _enrolment_refusal(request)
    if refusal is not None:
        return refusal
    try:
        return JsonResponse(passkeys.registration_options_for(request))
    except passkeys.PasskeyError as exc:
        return _json_error(400, exc.code, str(exc))


@login_required
@require_POST
def passkey_register(request):
    refusal = _enrolment_refusal(request)
    if refusal is not None:
        return refusal
    body = _body(request)
    if not isinstance(body, dict):
        return _json_error(400, "passkey_invalid", "Send {'name': ..., 'credential': {...}}.")
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    try:
        rp_id, origin = passkeys.relying_party(request)
        passkey = passkeys.register(
            request.user,
            body.get("credential"),
            rp_id=rp_id,
            origin=origin,
            name=name.strip() or "passkey",
        )
    except passkeys.PasskeyError as exc:
        return _json_error(400, exc.code, str(exc))
    # Registering with user verification proved the new factor: a first enrolment does
    # not send the user straight back to the step.
    mark_mfa_passed(request)
    return JsonResponse({"passkey": str(passkey.pk), "name": passkey.name}, status=201)
