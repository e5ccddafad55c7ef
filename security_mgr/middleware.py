"""Users who enrolled a second factor pass it before any console page opens: the admin,
the console home and every /console/ page but the step itself.

Runs after the tenant middleware. The session remembers *which* user passed, so a
session handed to another login does not inherit it. Whether the user enrolled does
not depend on the tenant the request acts in (see `mfa.enrolled_tenants`): choosing a
tenant where they have no factor does not skip the step."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect

SESSION_FLAG = "dim_mfa_user"
GUARDED_PREFIXES = ("/admin/", "/console/")
OPEN_PATHS = ("/admin/login/", "/admin/logout/", "/console/mfa/")
CONSOLE_HOME = "/"


def mfa_passed(request) -> bool:
    return request.session.get(SESSION_FLAG) == request.user.pk


def mark_mfa_passed(request) -> None:
    request.session[SESSION_FLAG] = request.user.pk


def guarded(path: str) -> bool:
    return path == CONSOLE_HOME or (
        path.startswith(GUARDED_PREFIXES) and not path.startswith(OPEN_PATHS)
    )


class AdminMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            guarded(request.path)
            and user is not None
            and user.is_authenticated
            and not mfa_passed(request)
        ):
            from security_mgr.mfa import enrolled_anywhere

            if enrolled_anywhere(user):
                return redirect(f"/console/mfa/?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
