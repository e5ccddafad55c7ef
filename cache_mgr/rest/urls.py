from django.urls import path

from cache_mgr.rest import views

urlpatterns = [
    path("cache/stats", views.CacheStatsView.as_view(), name="cache-stats"),
    path("cache/invalidate", views.CacheInvalidateView.as_view(), name="cache-invalidate"),
]
