from django.urls import path

from lifecycle_mgr.api import views

urlpatterns = [
    path("lifecycle/state/", views.OwnLifecycleView.as_view(), name="lifecycle-state"),
    path("lifecycle/quotas/", views.QuotaUsageView.as_view(), name="lifecycle-quotas"),
    path("lifecycle/tiers/", views.TiersView.as_view(), name="lifecycle-tiers"),
    path("lifecycle/tiers/<slug:name>/", views.TierView.as_view(), name="lifecycle-tier"),
    path(
        "lifecycle/tenants/<slug:slug>/",
        views.TenantLifecycleView.as_view(),
        name="lifecycle-tenant",
    ),
    path(
        "lifecycle/tenants/<slug:slug>/transitions/",
        views.TransitionsView.as_view(),
        name="lifecycle-transitions",
    ),
]
