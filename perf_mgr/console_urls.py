"""The performance manager's console dashboards, included under /console/performance/
by config/urls.py."""

from django.urls import path

from perf_mgr.dashboards import views

urlpatterns = [
    path("", views.performance_dashboard, name="console-perf-performance"),
    path("business/", views.business_dashboard, name="console-perf-business"),
    path("operations/", views.operations_dashboard, name="console-perf-operations"),
]
