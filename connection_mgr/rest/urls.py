from django.urls import path

from connection_mgr.rest import views

urlpatterns = [
    path("connections/", views.ConnectionsView.as_view(), name="connections"),
    path(
        "connections/tenants/<slug:slug>/isolation/",
        views.TenantIsolationView.as_view(),
        name="connections-tenant-isolation",
    ),
]
