"""What the OpenAPI schema says about every operation, so that views need not repeat it.

- `TenantAutoSchema` (DRF's DEFAULT_SCHEMA_CLASS) documents the `X-Tenant` header on
  every view that resolves a tenant from the request, with the slug syntax the
  resolver enforces (anything else is a 400 `invalid_tenant`).
- `document_errors` (a drf-spectacular postprocessing hook) adds the one error format
  of tenancy/api/errors.py as the component `Error`, and documents on every operation
  the error statuses that any of them can answer: a bad request, a refused or missing
  credential, a role or tenant refused, an unknown object or URL, a method not allowed,
  a body too large, throttling and an unavailable dependency. Operations that write also
  document 409 (an IntegrityError, tenancy/api/errors.py), and those that take a body
  415 (a Content-Type no parser reads). 429 and 503 carry `Retry-After`.
- Page numbers and sizes get the bounds the paginator enforces, and string query
  parameters say that a NUL character is refused (the middleware's 400).
- A POST that creates an object, and a paginated list, link to the operations on such an
  object (OpenAPI links, followed by schemathesis' stateful phase).

A view documents only what is particular to it (its success status and body).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

# The resolver's slug syntax (tenancy/resolution.py): 1-63 lowercase letters, digits or
# inner hyphens. Surrounding spaces are stripped by the resolver, never needed.
TENANT_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"

TENANT_HEADER_PARAMETER = OpenApiParameter(
    name="X-Tenant",
    type={"type": "string", "pattern": TENANT_SLUG_PATTERN, "maxLength": 63},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Slug of the tenant to act in; needed when your user belongs to several tenants "
        "and the credential names none (a session token names its own)."
    ),
)

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Every 4xx and 5xx of the API. `code` is machine-readable, `message` is for "
        "humans; `fields` (validation errors only) maps each field to its messages."
    ),
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
                "path": {"type": "string", "description": "Where in a bad body."},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

ERROR_REF = {"$ref": "#/components/schemas/Error"}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string"},
    }
}

# status -> description. Every operation gets them all, but 409 only where it writes and
# 415 only where it takes a body.
ERROR_STATUSES = {
    "400": "The request is malformed or invalid (see `error.fields`), or names a tenant "
    "in a malformed way.",
    "401": "No valid credential: missing, malformed, expired, revoked, or awaiting step-up.",
    "403": "Authenticated, but the role, the tenant or the MFA state does not allow this.",
    "404": "No such object in this tenant (another tenant's object answers the same).",
    "405": "The method is not allowed on this path.",
    "406": "No acceptable representation for the Accept header.",
    "409": "The change conflicts with existing data.",
    "413": "The request body is too large.",
    "415": "The request's Content-Type is not supported.",
    "429": "Throttled: wait for Retry-After.",
    "503": "A dependency (the database) is unavailable: retry after Retry-After.",
}
WRITE_ONLY_STATUSES = {"409"}
BODY_ONLY_STATUSES = {"415"}
WITH_RETRY_AFTER = {"429", "503"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SAFE_METHODS = {"get", "head", "options"}


class TenantAutoSchema(AutoSchema):
    """DRF's DEFAULT_SCHEMA_CLASS: drf-spectacular's, plus `X-Tenant` on tenant views."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._resolves_tenant():
            parameters.append(TENANT_HEADER_PARAMETER)
        return parameters

    def _resolves_tenant(self) -> bool:
        from tenancy.api.base import TenantAPIMixin

        # Without an authenticator nobody is resolved (public endpoints ignore the header).
        return isinstance(self.view, TenantAPIMixin) and bool(self.view.get_authenticators())


def _error_response(status: str) -> dict:
    response = {
        "description": ERROR_STATUSES[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in WITH_RETRY_AFTER:
        response["headers"] = dict(RETRY_AFTER)
    return response


def _bound_pagination(operation: dict, max_page_size: int, max_page: int | None) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query":
            continue
        schema = parameter.setdefault("schema", {})
        if parameter.get("name") == "page" and schema.get("type") == "integer":
            schema["minimum"] = 1
            if max_page is not None:
                schema["maximum"] = max_page
        elif parameter.get("name") == "page_size" and schema.get("type") == "integer":
            schema["minimum"] = 1
            schema["maximum"] = max_page_size


# A NUL character anywhere in the query string is a 400 (tenancy/api/middleware.py).
NO_NUL_PATTERN = r"^[^\x00]*$"


def _refuse_nul_in_query(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query" and schema.get("type") == "string":
            schema.setdefault("pattern", NO_NUL_PATTERN)


def _schema_properties(schema: dict, components: dict) -> dict:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[1], {})
    return schema.get("properties", {})


def _id_sources(paths: dict, components: dict):
    """(collection path, response, JSON pointer to an id) for every POST that answers the
    new object, and every GET that lists objects one page at a time."""
    for path, item in paths.items():
        for method, pointer, statuses in (
            ("post", "/id", ("201", "202")),
            ("get", "/results/0/id", ("200",)),
        ):
            operation = item.get(method)
            if not operation:
                continue
            for status in statuses:
                response = operation.get("responses", {}).get(status, {})
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                properties = _schema_properties(schema, components)
                if method == "get":
                    items = properties.get("results", {}).get("items", {})
                    properties = _schema_properties(items, components) if items else {}
                if "id" in properties:
                    yield path, response, pointer


def link_to_objects(result: dict) -> None:
    """OpenAPI links from each POST that creates an object, and each paginated list, to
    every operation on such an object (the paths right under the collection, keyed by one
    path parameter), so that stateful clients (schemathesis) chain them."""
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    for collection, response, pointer in list(_id_sources(paths, components)):
        for path, item in paths.items():
            rest = path[len(collection) :] if path.startswith(collection) else ""
            name = rest.split("/", 1)[0]
            if not (name.startswith("{") and name.endswith("}")):
                continue
            for method, operation in item.items():
                if method in HTTP_METHODS and "operationId" in operation:
                    response.setdefault("links", {})[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": {name[1:-1]: f"$response.body#{pointer}"},
                    }


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    from tenancy.api import pagination

    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    max_page_size = pagination.TenantPagination.max_page_size
    max_page = getattr(pagination, "MAX_PAGE_NUMBER", None)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in ERROR_STATUSES:
                if status in WRITE_ONLY_STATUSES and method in SAFE_METHODS:
                    continue
                if status in BODY_ONLY_STATUSES and "requestBody" not in operation:
                    continue
                responses.setdefault(status, _error_response(status))
            _bound_pagination(operation, max_page_size, max_page)
            _refuse_nul_in_query(operation)
    link_to_objects(result)
    return result


__all__ = [
    "ERROR_SCHEMA",
    "TENANT_HEADER_PARAMETER",
    "TenantAutoSchema",
    "document_errors",
]
