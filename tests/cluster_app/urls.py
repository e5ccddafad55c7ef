import os
import time

from django.urls import path
from rest_framework.response import Response

from cache_mgr import api as cache
from tenancy.api.base import TenantAPIView
from tests.cluster_app.flows import effect_prefix
from tests.scoping_app.models import Folder

NAMESPACE = "cluster"
SLOW_LIMIT = 20.0  # seconds


class CacheProbeView(TenantAPIView):
    """The tenant cache's value for one key, loaded (with this process's pid) on a miss."""

    def get(self, request, *args, **kwargs):
        value = cache.get_or_set(
            "probe", lambda: {"pid": os.getpid(), "loaded_at": time.time()}, namespace=NAMESPACE
        )
        return Response({"value": value, "served_by": os.getpid()})


class SlowView(TenantAPIView):
    """Answers after `seconds`; says in the process's log when it began, so the test
    knows the request is in flight before it stops the process."""

    def get(self, request, *args, **kwargs):
        nonce = request.query_params.get("nonce", "")[:40]
        try:
            seconds = min(SLOW_LIMIT, max(0.0, float(request.query_params.get("seconds", 1))))
        except ValueError:
            return Response({"detail": "seconds must be a number"}, status=400)
        print(f"cluster_slow_started {nonce}", flush=True)  # the test reads it in the log
        time.sleep(seconds)
        return Response({"nonce": nonce, "slept": seconds, "served_by": os.getpid()})


class SagaEffectsView(TenantAPIView):
    """The effects (Folder names) the cluster saga's run wrote, in the order written."""

    def get(self, request, run_id, *args, **kwargs):
        names = (
            Folder.objects.filter(name__startswith=effect_prefix(run_id))
            .order_by("id")
            .values_list("name", flat=True)
        )
        return Response({"effects": list(names)})


urlpatterns = [
    path("cache/", CacheProbeView.as_view()),
    path("slow/", SlowView.as_view()),
    path("saga/<int:run_id>/effects/", SagaEffectsView.as_view()),
]
