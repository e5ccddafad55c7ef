from django.urls import path
from rest_framework.routers import SimpleRouter

from tenancy.api import views

router = SimpleRouter()
router.register("settings", views.TenantSettingViewSet, basename="tenant-setting")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("tenant/", views.CurrentTenantView.as_view(), name="current-tenant"),
    path("isolation/report/", views.IsolationReportView.as_view(), name="isolation-report"),
    *router.urls,
]
