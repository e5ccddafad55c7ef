"""/console/language/: the form that chooses the console's language (tenancy/language.py).

GET shows the form and writes nothing. POST `language` (and an optional `next`, as
Django's `set_language` and unfold's language menu send them): saves the preference of a
signed-in user, sets Django's language cookie (for anonymous visitors it is all there
is), and goes back to `next`, the referring page or the console's home. An unknown
language is the form again with a 400 and the reason.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tenancy.actions import do_set_language
from tenancy.console import console_context
from tenancy.language import check_language


def _safe(request, target) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _page(request, *, error: str = "", status: int = 200):
    context = {
        "languages": [translation.get_language_info(code) for code, _name in settings.LANGUAGES],
        "current": translation.get_language(),
        "next": _safe(request, request.POST.get("next") or request.GET.get("next")) or "",
        "error": error,
        **console_context(request, _("Language of the console")),
    }
    return render(request, "preferences/language.html", context, status=status)


@require_http_methods(["GET", "POST"])
def choose_language(request):
    if request.method == "GET":
        return _page(request)
    try:
        code = check_language(request.POST.get("language"))
    except ValidationError as exc:
        return _page(request, error=" ".join(exc.messages), status=400)
    if request.user.is_authenticated:
        do_set_language(request.user, code)
    target = (
        _safe(request, request.POST.get("next"))
        or _safe(request, request.headers.get("referer"))
        or "/"
    )
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
