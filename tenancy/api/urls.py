from django.urls import path
from rest_framework.routers import SimpleRouter

from tenancy.api import onboarding, views

router = SimpleRouter()
router.register("settings", views.TenantSettingViewSet, basename="tenant-setting")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("tenant/", views.CurrentTenantView.as_view(), name="current-tenant"),
    path("tenants/", onboarding.TenantOnboardView.as_view(), name="tenant-onboard"),
    path("isolation/report/", views.IsolationReportView.as_view(), name="isolation-report"),
    *router.urls,
]
