"""One error format for every 4xx of the API:

    {"error": {"code": "<machine-readable>", "message": "<for humans>", "fields": {...}}}

`fields` appears only for validation errors, `path` (the JSON path, or the form field)
only for bad bodies. Another tenant's object and a missing one produce the same 404 body,
byte for byte. Errors raised outside DRF (unknown URLs, bodies refused before a view,
server errors) get the same format from `tenancy.api.middleware.APIErrorMiddleware`.
"""

from __future__ import annotations

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tenancy.api.error_types import BadBody, BodyTooLarge, PageNotFound, TenantAPIError
from tenancy.exceptions import TenantContextMissing, TenantMismatch
from tenancy.models import is_tenant_scoped
from tenancy.quotas import QuotaExceeded
from tenancy.resolution import TenantResolutionError
from tenancy.signals import scoped_object_not_found

log = logging.getLogger("dim.api")

NOT_FOUND_BODY = {"error": {"code": "not_found", "message": "Not found."}}
__all__ = ["BadBody", "BodyTooLarge", "PageNotFound", "TenantAPIError", "api_exception_handler"]


def _first_code(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_code(value)
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    return getattr(detail, "code", None) or "invalid"


def _message(detail) -> str:
    if isinstance(detail, (list, dict)):
        return "The request is invalid; see fields."
    return str(detail)


def _report_not_found(context) -> None:
    view = context.get("view")
    model = getattr(view, "model", None)
    if model is None or not is_tenant_scoped(model):
        return
    lookup = view.kwargs.get(view.lookup_url_kwarg or view.lookup_field)
    if lookup is not None:
        scoped_object_not_found.send(sender=model, request=context.get("request"), lookup=lookup)


def api_exception_handler(exc, context):
    retry_after = None
    if isinstance(exc, Http404):
        _report_not_found(context)
        return Response(NOT_FOUND_BODY, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, TenantResolutionError):
        exc = TenantAPIError(exc.status, exc.code, exc.message)
    elif isinstance(exc, QuotaExceeded):
        retry_after = exc.retry_after
        exc = TenantAPIError(exc.status, "quota_exceeded", str(exc))
    elif isinstance(exc, TenantMismatch):
        exc = TenantAPIError(400, "tenant_mismatch", str(exc))
    elif isinstance(exc, TenantContextMissing):
        exc = TenantAPIError(403, "tenant_required", "This endpoint needs a tenant.")
    elif isinstance(exc, IntegrityError):
        exc = TenantAPIError(409, "conflict", "The change conflicts with existing data.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        exc = BodyTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = TenantAPIError(400, "too_many_fields", str(exc))
    elif isinstance(exc, SuspiciousOperation):
        exc = TenantAPIError(400, "bad_request", "The request is malformed.")
    elif isinstance(exc, DataError):
        # A value the database refuses (out of range, a character it cannot store) that
        # no validator caught: the client's input, so a 400; logged to find the gap.
        log.warning("api_data_error", extra={"event": "api_data_error", "error": str(exc)})
        exc = TenantAPIError(400, "invalid_value", "A value in the request cannot be stored.")
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real 5xx: Django reports it, the middleware answers JSON
    if response.status_code == 404 and not isinstance(exc, PageNotFound):
        response.data = NOT_FOUND_BODY
        return response
    detail = response.data if isinstance(exc, exceptions.ValidationError) else exc.detail
    body = {"code": _first_code(exc.detail), "message": _message(detail)}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["fields"] = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
    if getattr(exc, "path", None) is not None:
        body["path"] = exc.path
    response.data = {"error": body}
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def json_not_found_for_api(request, exception=None):
    """Django-level 404s under /api/ (unknown URLs) speak the API's error format."""
    if request.path.startswith("/api/"):
        return JsonResponse(NOT_FOUND_BODY, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
