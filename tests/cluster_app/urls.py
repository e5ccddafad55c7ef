import os
import time

from django.urls import path
from rest_framework.response import Response

from cache_mgr import api as cache
from tenancy.api.base import TenantAPIView

NAMESPACE = "cluster"


class CacheProbeView(TenantAPIView):
    """The tenant cache's value for one key, loaded (with this process's pid) on a miss."""

    def get(self, request, *args, **kwargs):
        value = cache.get_or_set(
            "probe", lambda: {"pid": os.getpid(), "loaded_at": time.time()}, namespace=NAMESPACE
        )
        return Response({"value": value, "served_by": os.getpid()})


urlpatterns = [path("cache/", CacheProbeView.as_view())]
