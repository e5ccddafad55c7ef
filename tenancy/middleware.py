"""Sets the tenant context for console (session) requests and always clears it.

API requests authenticate inside DRF (tokens, basic auth), after middleware has run, so
`tenancy.api.base.TenantAPIMixin` resolves their tenant once the user is known; this
middleware still guarantees that no context survives any request, even on exceptions.
"""

from __future__ import annotations

from django.http import JsonResponse

from tenancy import context
from tenancy.resolution import TenantResolutionError, requested_slug, resolve

SESSION_KEY = "dim_tenant"
API_PREFIX = "/api/"


class TenantContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        request.tenant_error = None
        token = context.activate(None)
        try:
            if not request.path.startswith(API_PREFIX):
                failure = self._enter_console_tenant(request)
                if failure is not None:
                    return failure
            return self.get_response(request)
        finally:
            context.deactivate(token)
            context.clear_context()

    def _enter_console_tenant(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        try:
            slug = requested_slug(request)
        except TenantResolutionError as exc:
            return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=400)
        if slug is None:
            slug = request.session.get(SESSION_KEY)
        try:
            resolution = resolve(user, slug)
        except TenantResolutionError as exc:
            if user.is_superuser and slug is None:
                context.begin_platform_access(
                    f"superuser console: {request.method} {request.path}",
                    actor=user.get_username(),
                )
                return None
            if slug is not None and slug == request.session.get(SESSION_KEY):
                request.session.pop(SESSION_KEY, None)  # stale choice: forget it
            request.tenant_error = exc
            return None
        request.tenant = resolution.tenant
        request.membership = resolution.membership
        context.activate(
            context.TenantRef(
                resolution.tenant.pk, resolution.tenant.slug, resolution.tenant.cache_generation
            )
        )
        return None
