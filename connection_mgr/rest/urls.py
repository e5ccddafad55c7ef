from django.urls import path

from connection_mgr.rest import views

urlpatterns = [path("connections/", views.ConnectionsView.as_view(), name="connections")]
