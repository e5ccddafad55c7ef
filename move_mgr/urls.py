from django.urls import path

from move_mgr import rest

urlpatterns = [
    path(
        "connections/tenants/<slug:slug>/move/",
        rest.TenantMoveView.as_view(),
        name="connections-tenant-move",
    ),
]
