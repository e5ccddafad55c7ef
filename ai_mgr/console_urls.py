"""The console's AI page, included under /console/ai/ by config/urls.py."""

from django.urls import path

from ai_mgr import console

urlpatterns = [
    path("", console.registry_page, name="console-ai"),
    path(
        "<slug:name>/<int:number>/promote/",
        console.promote_view,
        name="console-ai-promote",
    ),
]
