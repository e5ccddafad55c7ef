"""The project's URLconf plus the plain peer API (bench process only)."""

from django.urls import path

from bench.plain_api import Noop, PlainSettingList
from config.urls import handler404
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("api/bench/plain-settings/", PlainSettingList.as_view(), name="bench-plain-settings"),
    path("api/bench/noop/", Noop.as_view(), name="bench-noop"),
]

__all__ = ["handler404", "urlpatterns"]
