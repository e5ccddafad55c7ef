"""The API's error format for what happens outside DRF.

For paths under `API_PATH_PREFIXES` (`/api/` and the seed's aliases), this middleware,
right after SecurityMiddleware:
- refuses before anything reads them: a declared body larger than
  `DATA_UPLOAD_MAX_MEMORY_SIZE` (413), a NUL character in the path or the query string
  (400; PostgreSQL cannot store it and no view expects it);
- turns every error response that is not JSON into one that is, with the same status and
  headers (`Allow`, `Retry-After`, ...): Django's 404 for unknown URLs, its 400 for a
  suspicious request, its 500 page (and DEBUG's traceback page) for an unhandled
  exception. The exception itself is still logged by Django (`django.request`).
Console pages keep Django's HTML.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse

from tenancy.api.errors import NOT_FOUND_BODY

DEFAULT_PREFIXES = ("/api/",)

# Error bodies for statuses that reach the middleware without one of ours.
_GENERIC = {
    400: ("bad_request", "The request is malformed."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "Cannot answer in the requested format."),
    413: ("body_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type in the request."),
    429: ("throttled", "Too many requests."),
    500: ("server_error", "Internal server error. It has been logged."),
    502: ("service_unavailable", "A service this request needs is unavailable."),
    503: ("service_unavailable", "A service this request needs is unavailable."),
    504: ("service_unavailable", "A service this request needs did not answer in time."),
}


def error_response(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def _is_json(response) -> bool:
    media_type = (response.get("Content-Type") or "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def as_json_error(response):
    """`response` (an error that is not JSON) as the same status in our format."""
    status = response.status_code
    if status == 404:
        new = JsonResponse(NOT_FOUND_BODY, status=404)
    else:
        code, message = _GENERIC.get(status, (f"http_{status}", response.reason_phrase))
        new = error_response(status, code, message)
    for header, value in response.items():
        if header.lower() not in ("content-type", "content-length"):
            new[header] = value
    new.cookies = response.cookies
    return new


def _declared_length(request) -> int:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    return int(raw) if raw.isascii() and raw.isdigit() else 0


def _nul_in_query(request) -> tuple[str, str | None] | None:
    for key, values in request.GET.lists():
        if "\x00" in key:
            return "a query parameter name", None
        if any("\x00" in value for value in values):
            return f"query parameter {key!r}", f"?{key}"
    return None


def early_refusal(request):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and _declared_length(request) > limit:
        return error_response(
            413, "body_too_large", f"The request body exceeds the limit of {limit} bytes."
        )
    if "\x00" in request.path_info:
        return error_response(400, "nul_character", "A NUL character is not allowed in the path.")
    try:
        found = _nul_in_query(request)
    except SuspiciousOperation:  # too many query parameters
        return error_response(400, "bad_request", "The query string is malformed or too long.")
    if found is not None:
        where, path = found
        extra = {"path": path} if path else {}
        return error_response(
            400, "nul_character", f"A NUL character is not allowed in {where}.", **extra
        )
    return None


class APIErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "API_PATH_PREFIXES", DEFAULT_PREFIXES))

    def __call__(self, request):
        if not request.path_info.startswith(self.prefixes):
            return self.get_response(request)
        refusal = early_refusal(request)
        if refusal is not None:
            return refusal
        response = self.get_response(request)
        if response.status_code >= 400 and not response.streaming and not _is_json(response):
            return as_json_error(response)
        return response
