"""/api/v1/lifecycle/ routes of the GDPR part (exports, erasure, certificates)."""

from django.urls import path

from lifecycle_mgr import gdpr_api as views

urlpatterns = [
    path("exports/", views.ExportListView.as_view(), name="lifecycle-exports"),
    path("exports/<str:pk>/", views.ExportDetailView.as_view(), name="lifecycle-export"),
    path(
        "exports/download/<str:token>/",
        views.ExportDownloadView.as_view(),
        name="lifecycle-export-download",
    ),
    path("erasure/user/", views.EraseUserView.as_view(), name="lifecycle-erase-user"),
    path("erasure/tenant/", views.EraseTenantView.as_view(), name="lifecycle-erase-tenant"),
    path(
        "erasure/certificates/",
        views.CertificateListView.as_view(),
        name="lifecycle-certificates",
    ),
    path(
        "erasure/certificates/<str:pk>/verify/",
        views.CertificateVerifyView.as_view(),
        name="lifecycle-certificate-verify",
    ),
]
