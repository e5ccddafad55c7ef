"""The console's second-factor step (see security_mgr.middleware)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from security_mgr import mfa
from security_mgr.middleware import mark_mfa_passed


@login_required
def mfa_step(request):
    target = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/admin/"
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            if mfa.verify_any(request.user, code):
                mark_mfa_passed(request)
                return redirect(target)
            error = "That code is not valid (or was already used)."
        except mfa.MFALocked as exc:
            error = str(exc)
        except ValueError as exc:
            error = f"Invalid code: {exc}."
    status = 400 if error and "Invalid" in error else 200
    import json

    context = {
        "error": error,
        "next": target,
        "next_json": json.dumps(target).replace("<", "\\u003c"),
    }
    return render(request, "security/mfa_step.html", context, status=status)


def _rp(request) -> tuple[str, str]:
    from security_mgr.api.views import _relying_party

    return _relying_party(request)


def _passkey_tenant(request):
    """The tenant whose passkeys the console step uses: the one in context, else the
    first tenant where the user registered one."""
    from tenancy.context import get_current_tenant_id

    tenant_id = get_current_tenant_id()
    if tenant_id is not None:
        return tenant_id
    tenants = mfa.enrolled_tenants(request.user)
    return tenants[0] if tenants else None


@login_required
def mfa_passkey_options(request):
    import contextlib

    from django.http import JsonResponse

    from security_mgr import passkeys
    from tenancy.context import get_current_tenant_id, tenant_context

    tenant_id = _passkey_tenant(request)
    if tenant_id is None or request.method != "POST":
        return JsonResponse({"error": {"code": "no_passkey", "message": "No passkey."}}, status=400)
    scope = (
        contextlib.nullcontext()
        if get_current_tenant_id() == tenant_id
        else tenant_context(tenant_id)
    )
    with scope:
        options = passkeys.authentication_options(request.user, rp_id=_rp(request)[0])
    return JsonResponse(options)


@login_required
def mfa_passkey(request):
    import contextlib
    import json

    from django.http import JsonResponse

    from security_mgr import passkeys
    from tenancy.context import get_current_tenant_id, tenant_context

    tenant_id = _passkey_tenant(request)
    if tenant_id is None or request.method != "POST":
        return JsonResponse({"error": {"code": "no_passkey", "message": "No passkey."}}, status=400)
    try:
        credential = json.loads(request.body or b"null")
    except ValueError:
        credential = None
    scope = (
        contextlib.nullcontext()
        if get_current_tenant_id() == tenant_id
        else tenant_context(tenant_id)
    )
    try:
        with scope:
            rp_id, origin = _rp(request)
            passkeys.authenticate(request.user, credential, rp_id=rp_id, origin=origin)
    except passkeys.PasskeyError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": str(exc)}}, status=400)
    mark_mfa_passed(request)
    return JsonResponse({"verified": True})
