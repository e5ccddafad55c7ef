"""One error format for every 4xx of the API:

    {"error": {"code": "<machine-readable>", "message": "<for humans>", "fields": {...}}}

`fields` appears only for validation errors. Another tenant's object and a missing one
produce the same 404 body, byte for byte.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tenancy.exceptions import TenantContextMissing, TenantMismatch
from tenancy.models import is_tenant_scoped
from tenancy.resolution import TenantResolutionError
from tenancy.signals import scoped_object_not_found

NOT_FOUND_BODY = {"error": {"code": "not_found", "message": "Not found."}}


class TenantAPIError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str):
        self.status_code = status_code
        super().__init__(detail=message, code=code)


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
    if isinstance(exc, Http404):
        _report_not_found(context)
        return Response(NOT_FOUND_BODY, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, TenantResolutionError):
        exc = TenantAPIError(exc.status, exc.code, exc.message)
    elif isinstance(exc, TenantMismatch):
        exc = TenantAPIError(400, "tenant_mismatch", str(exc))
    elif isinstance(exc, TenantContextMissing):
        exc = TenantAPIError(403, "tenant_required", "This endpoint needs a tenant.")
    elif isinstance(exc, IntegrityError):
        exc = TenantAPIError(409, "conflict", "The change conflicts with existing data.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real 5xx: let Django report it
    if response.status_code == 404:
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
    response.data = {"error": body}
    return response


def json_not_found_for_api(request, exception=None):
    """Django-level 404s under /api/ (unknown URLs) speak the API's error format."""
    if request.path.startswith("/api/"):
        return JsonResponse(NOT_FOUND_BODY, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
