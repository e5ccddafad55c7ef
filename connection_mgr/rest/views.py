"""`GET /api/v1/connections/`: every database alias with its pool and breaker, for
platform operators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from connection_mgr import selectors
from tenancy.api.base import TenantAPIView
from tenancy.api.permissions import IsPlatformOperator


class ConnectionsView(TenantAPIView):
    """Database aliases (primary, replicas, dedicated tenants' databases): kind, pool
    sizes, circuit breaker state."""

    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(
        responses=inline_serializer("Connections", {"databases": serializers.ListField()})
    )
    def get(self, request, *args, **kwargs):
        return Response({"databases": selectors.connection_states()})
