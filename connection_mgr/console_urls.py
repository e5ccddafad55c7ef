from django.urls import path

from connection_mgr import console

urlpatterns = [path("", console.connections_page, name="console-connections")]
