from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sessions_mgr.api.urls import seed_aliases
from tenancy.api.errors import json_not_found_for_api
from tenancy.console import console_home, switch_tenant

admin.site.site_header = "Data Isolation Managers"
admin.site.site_title = "Data Isolation Managers"
admin.site.index_title = "Console"

# One "v1" namespace (DRF's NamespaceVersioning reads it); apps nest their own inside.
v1_patterns = [
    path("", include("tenancy.api.urls")),
    path("", include(("sessions_mgr.api.urls", "sessions"))),
]

urlpatterns = [
    path("", console_home, name="console-home"),
    path("console/switch-tenant/", switch_tenant, name="console-switch-tenant"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((v1_patterns, "tenancy"), namespace="v1")),
    *seed_aliases,  # the seed's POST /sessions/create, GET /sessions/{id}/validate|analytics
]

if apps.is_installed("tests.scoping_app"):
    urlpatterns.append(path("api/v1/testing/", include("tests.scoping_app.api")))

handler404 = json_not_found_for_api
