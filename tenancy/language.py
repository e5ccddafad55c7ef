"""The console's language: English, German or French.

The first that applies wins:
1. the signed-in user's saved preference (`UserPreference`, set on /console/language/),
   applied by `UserLanguageMiddleware` once the user is known;
2. Django's language cookie (the same form sets it, for anonymous visitors too);
3. the browser's Accept-Language;
4. English (`LANGUAGE_CODE`).
Steps 2-4 are Django's `LocaleMiddleware` (with no language prefix in URLs).

The API (`API_PATH_PREFIXES`: /api/ and the seed's /sessions/ aliases) answers in English
whatever Accept-Language asks: DRF ships German and French catalogs, so under the stock
middleware an error's `message` (and the schema's texts) would change with the client's
locale, while clients, tests and logs match on stable English messages (`code` is
the machine-readable part, but people grep messages too). `LocaleMiddleware` below
activates English there and, since the language then never depends on the request,
adds no `Vary: Accept-Language`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _

from tenancy.models import UserPreference


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def check_language(code) -> str:
    """`code` if it names one of settings.LANGUAGES, else a `ValidationError`."""
    if isinstance(code, str) and code in language_codes():
        return code
    raise ValidationError(
        _("Unknown language %(code)s: choose one of %(choices)s.")
        % {"code": repr(code)[:40], "choices": ", ".join(language_codes())},
        code="invalid_language",
    )


def preferred_language(user) -> str | None:
    """The user's saved language, if they saved one that is still offered."""
    if user is None or not user.is_authenticated:
        return None
    code = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return code if code in language_codes() else None


def is_api_path(path: str) -> bool:
    return path.startswith(tuple(getattr(settings, "API_PATH_PREFIXES", ("/api/",))))


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, except on API paths: always English there (see the module's docstring)."""

    def process_request(self, request):
        if is_api_path(request.path_info):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return None
        return super().process_request(request)

    def process_response(self, request, response):
        if is_api_path(request.path_info):
            response.headers.setdefault("Content-Language", translation.get_language())
            return response
        return super().process_response(request, response)


class UserLanguageMiddleware:
    """After authentication: a signed-in user's saved language beats the cookie and the
    browser's (one primary-key read per console request of a signed-in user)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_path(request.path_info):
            code = preferred_language(getattr(request, "user", None))
            if code is not None and code != translation.get_language():
                translation.activate(code)
                request.LANGUAGE_CODE = code
        return self.get_response(request)
