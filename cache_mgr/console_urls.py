from django.urls import path

from cache_mgr import console

urlpatterns = [
    path("", console.cache_page, name="console-cache"),
    path("invalidate/", console.cache_invalidate, name="console-cache-invalidate"),
]
