"""The tenant's cache over the API: statistics (admins) and invalidation of one
namespace or of the whole tenant (admins). Everything acts on the caller's tenant only:
no endpoint takes a tenant id."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from cache_mgr import actions, selectors
from cache_mgr.api import NAMESPACE, CacheUsageError
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.models import Role


class InvalidateSerializer(serializers.Serializer):
    namespace = serializers.RegexField(
        NAMESPACE.pattern + r"\Z",
        required=False,
        help_text="One namespace (e.g. `pages`); omit to drop the tenant's whole cache.",
        error_messages={
            "invalid": "namespace: 1-32 of a-z, 0-9, '_' or '-', starting with a letter."
        },
    )


class CacheStatsView(TenantAPIView):
    """Hits, misses, evictions, prefetch gain per namespace; in-process usage against the
    tenant's quota; what prefetching learned."""

    read_role = Role.ADMIN

    @extend_schema(
        responses=inline_serializer("CacheStats", {"namespaces": serializers.ListField()})
    )
    def get(self, request, *args, **kwargs):
        return Response(selectors.tenant_stats())


class CacheInvalidateView(TenantAPIView):
    """O(1): the namespace's (or tenant's) generation moves on; every process drops its
    copies when the message arrives, and within CACHE_GENERATION_CHECK_SECONDS if not."""

    write_role = Role.ADMIN

    @extend_schema(
        request=InvalidateSerializer,
        responses=inline_serializer(
            "CacheInvalidated",
            {"namespace": serializers.CharField(), "generation": serializers.IntegerField()},
        ),
    )
    def post(self, request, *args, **kwargs):
        data = InvalidateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        namespace = data.validated_data.get("namespace")
        actor = request.user.get_username()
        try:
            if namespace:
                generation = actions.do_invalidate_namespace(namespace, actor=actor)
            else:
                generation = actions.do_invalidate_tenant(actor=actor)
        except CacheUsageError as exc:
            raise TenantAPIError(400, "invalid_namespace", str(exc)) from None
        return Response({"namespace": namespace or "*", "generation": generation})
