"""Users who enrolled a second factor pass it before the admin console opens.

Runs after the tenant middleware. The session remembers *which* user passed, so a
session handed to another login does not inherit it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect

SESSION_FLAG = "dim_mfa_user"
ADMIN_PREFIX = "/admin/"
OPEN_PATHS = ("/admin/login/", "/admin/logout/")


def mfa_passed(request) -> bool:
    return request.session.get(SESSION_FLAG) == request.user.pk


def mark_mfa_passed(request) -> None:
    request.session[SESSION_FLAG] = request.user.pk


class AdminMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        user = getattr(request, "user", None)
        if (
            path.startswith(ADMIN_PREFIX)
            and not path.startswith(OPEN_PATHS)
            and user is not None
            and user.is_authenticated
            and not mfa_passed(request)
        ):
            from security_mgr.mfa import enrolled_anywhere

            if enrolled_anywhere(user):
                return redirect(f"/console/mfa/?{urlencode({'next': path})}")
        return self.get_response(request)
