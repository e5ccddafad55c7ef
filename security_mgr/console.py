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
    return render(
        request, "security/mfa_step.html", {"error": error, "next": target}, status=status
    )
