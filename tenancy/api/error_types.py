"""The API's own exceptions, apart from the handler (tenancy/api/errors.py): the parsers
need them while DRF's settings are still loading, before `rest_framework.views` can be
imported."""

from __future__ import annotations

from rest_framework import exceptions


class TenantAPIError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str):
        self.status_code = status_code
        super().__init__(detail=message, code=code)


class BadBody(exceptions.ParseError):
    """A body refused by the parsers (tenancy/api/parsers.py); `path` names where, when
    known: a JSON path (`$.value[1]`) or a form field."""

    def __init__(self, code: str, message: str, path: str | None):
        super().__init__(detail=message, code=code)
        self.path = path


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "body_too_large"

    def __init__(self, limit: int | None):
        limit_text = f" of {limit} bytes" if limit is not None else ""
        super().__init__(f"The request body exceeds the limit{limit_text}.")


class PageNotFound(TenantAPIError):
    """A page beyond the last: a 404 that says so (not the objects' uniform 404)."""

    def __init__(self, message: str):
        super().__init__(404, "page_out_of_range", message)
