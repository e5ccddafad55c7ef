"""The console's GDPR page, included under /console/lifecycle/ by config/urls.py."""

from django.urls import path

from lifecycle_mgr import gdpr_console

urlpatterns = [
    path("gdpr/", gdpr_console.gdpr_page, name="console-lifecycle-gdpr"),
    path(
        "gdpr/exports/",
        gdpr_console.request_tenant_export,
        name="console-lifecycle-export",
    ),
    path(
        "gdpr/download/<str:token>/",
        gdpr_console.download,
        name="console-lifecycle-download",
    ),
]
