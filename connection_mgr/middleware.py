"""Per-request parts of the connection manager.

`ConnectionMiddleware` (inside tenancy.health's DependencyUnavailableMiddleware):
- starts each request with the "wrote" flag cleared (read-your-writes: after a write,
  the request's reads go to the primary, see replicas.py);
- answers a request that needed a database whose breaker is open, or that could not be
  reached, with a 503 naming that database: JSON under API_PATH_PREFIXES, a page
  elsewhere (the console). Other tenants, whose databases answer, are not affected.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from connection_mgr import aliases, breaker, replicas
from tenancy import degraded

RETRY_AFTER_SECONDS = 5


def failed_alias(exc: BaseException) -> str | None:
    """The alias named by a connection failure the breaker saw, else None."""
    if isinstance(exc, breaker.DatabaseUnavailable):
        return exc.alias
    for candidate in (exc, exc.__cause__, exc.__context__):
        alias = getattr(candidate, "dim_alias", None)
        if alias and degraded.is_database_unavailable(exc):
            return alias
    return None


def unavailable_response(request, alias: str, *, code: str = "database_unavailable", message=""):
    message = message or _(
        "The database %(alias)s is unavailable right now; try again shortly."
    ) % {"alias": alias}
    if request.path.startswith(tuple(settings.API_PATH_PREFIXES)):
        response = JsonResponse(
            {"error": {"code": code, "message": message, "database": alias}},
            status=503,
        )
    else:
        html = render_to_string(
            "connection_mgr/unavailable.html", {"message": message, "alias": alias}, request
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ConnectionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = replicas.begin_request()
        try:
            return self.get_response(request)
        finally:
            replicas.end_request(token)

    def process_exception(self, request, exception):
        if isinstance(exception, aliases.RoutingRefused):
            # The tenant's routing row was refused (not sealed, or its envelope does not
            # open): its rows are reached nowhere until an operator routes it again.
            degraded.count("database.routing_refused_responses")
            return unavailable_response(
                request,
                "",
                code="tenant_routing_refused",
                message=_(
                    "This tenant's database route cannot be trusted and was refused; an "
                    "operator must route the tenant again."
                ),
            )
        alias = failed_alias(exception)
        if alias is None:
            return None
        degraded.count("database.unavailable_responses")
        return unavailable_response(request, alias)
