from django.apps import apps
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from metadata_mgr.api.urls import seed_aliases as metadata_seed_aliases
from perf_mgr.api.urls import seed_aliases as performance_seed_aliases
from perf_mgr.exposition import metrics_view
from security_mgr import console as security_console
from security_mgr.dashboard import plotly_js, security_dashboard
from security_mgr.login_guard import ThrottledAdminAuthenticationForm
from sessions_mgr.api.urls import seed_aliases
from tenancy.api.errors import json_not_found_for_api
from tenancy.console import console_home, switch_tenant
from tenancy.health import health
from tenancy.language_views import choose_language
from tenancy.onboarding_views import accept_invitation, onboard_tenant_page

admin.site.login_form = ThrottledAdminAuthenticationForm

# One "v1" namespace (DRF's NamespaceVersioning reads it) holding every manager's API,
# each app under its own prefix or namespace.
v1_patterns = [
    path("", include("tenancy.api.urls")),
    path("", include(("sessions_mgr.api.urls", "sessions"))),
    path("security/", include("security_mgr.api.urls")),
    path("security/", include("audit_mgr.api.urls")),  # the audit log, where it always was
    path("", include("jobs_mgr.api.urls")),
    path("", include("workflow_mgr.api.urls")),
    path("", include("cache_mgr.rest.urls")),
    path("", include("connection_mgr.rest.urls")),
    path("", include("move_mgr.urls")),
    path("", include("lifecycle_mgr.api.urls")),
    path("", include(("perf_mgr.api.urls", "performance"))),
    path("metadata/", include("metadata_mgr.api.urls")),
    path("lifecycle/", include("lifecycle_mgr.gdpr_urls")),  # GDPR export and erasure
    path("", include("ai_mgr.api.urls")),
]

urlpatterns = [
    path("", console_home, name="console-home"),
    path("health/", health, name="health"),
    # Prometheus exposition (perf_mgr/exposition.py): operators' sessions or a bearer token.
    path("metrics", metrics_view, name="prometheus-metrics"),
    # Browsers ask for /favicon.ico whatever the page's <link rel=icon> says.
    path(
        "favicon.ico", RedirectView.as_view(url=static("console/favicon.svg")), name="favicon"
    ),  # which dependency is down (issue 10)
    path("console/switch-tenant/", switch_tenant, name="console-switch-tenant"),
    path("console/language/", choose_language, name="console-language"),
    # The djangojs catalog (locale/*/LC_MESSAGES/djangojs.po) for the console's scripts;
    # outside /console/, so the second-factor step (which needs it) can load it.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="console-jsi18n"),
    path("console/mfa/", security_console.mfa_step, name="console-mfa"),
    path(
        "console/mfa/passkey/options/",
        security_console.mfa_passkey_options,
        name="console-mfa-passkey-options",
    ),
    path("console/mfa/passkey/", security_console.mfa_passkey, name="console-mfa-passkey"),
    path("console/passkeys/", security_console.passkey_page, name="console-passkeys"),
    path(
        "console/passkeys/options/",
        security_console.passkey_register_options,
        name="console-passkey-register-options",
    ),
    path(
        "console/passkeys/register/",
        security_console.passkey_register,
        name="console-passkey-register",
    ),
    path("console/tenants/new/", onboard_tenant_page, name="console-onboard-tenant"),
    path(
        "invitation/<slug:slug>/<str:uidb64>/<str:token>/",
        accept_invitation,
        name="onboarding-accept",
    ),
    path("console/jobs/", include("jobs_mgr.console_urls")),
    path("console/lifecycle/", include("lifecycle_mgr.gdpr_console_urls")),
    path("console/ai/", include("ai_mgr.console_urls")),
    path("console/workflows/", include("workflow_mgr.console_urls")),
    path("console/lifecycle/", include("lifecycle_mgr.console_urls")),
    path("console/cache/", include("cache_mgr.console_urls")),
    path("console/connections/moves/", include("move_mgr.console_urls")),
    path("console/connections/", include("connection_mgr.console_urls")),
    path("console/performance/", include("perf_mgr.console_urls")),
    path("console/security/", security_dashboard, name="console-security"),
    path("console/security/plotly.min.js", plotly_js, name="console-plotly-js"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include((v1_patterns, "tenancy"), namespace="v1")),
    *seed_aliases,  # the seed's POST /sessions/create, GET /sessions/{id}/validate|analytics
    *performance_seed_aliases,  # GET /performance/current|analytics, POST /performance/optimize
    *metadata_seed_aliases,  # the seed's POST /metadata/create
]

if apps.is_installed("tests.scoping_app"):
    urlpatterns.append(path("api/v1/testing/", include("tests.scoping_app.api")))
if apps.is_installed("tests.cluster_app"):  # make cluster-test only (scripts/cluster_test.py)
    urlpatterns.append(path("api/v1/cluster/", include("tests.cluster_app.urls")))

handler404 = json_not_found_for_api
