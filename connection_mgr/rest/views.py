"""`GET /api/v1/connections/`: every database alias with its pool and breaker, for
platform operators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from connection_mgr import actions, selectors
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
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


class DatabaseURLsSerializer(serializers.Serializer):
    """A tenant database's URLs, as isolation changes and moves take them."""

    url = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Runtime role's URL."
    )
    owner_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="The tables' owner (migrations); defaults to url.",
    )


class IsolationSerializer(DatabaseURLsSerializer):
    mode = serializers.ChoiceField(choices=["pooled", "dedicated"])


class TenantIsolationView(TenantAPIView):
    """Set a tenant's isolation mode (platform operators). `dedicated` validates the URLs
    and that the database answers before anything is written; 400 with the reasons."""

    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(
        request=IsolationSerializer,
        responses=inline_serializer(
            "TenantIsolation", {"mode": serializers.CharField(), "alias": serializers.CharField()}
        ),
    )
    def post(self, request, slug, *args, **kwargs):
        from tenancy.models import Tenant

        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise TenantAPIError(404, "not_found", f"No tenant {slug!r}.")
        data = IsolationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        actor = request.user.get_username()
        try:
            if values["mode"] == "dedicated":
                if not values.get("url"):
                    raise actions.ConnectionUsageError("url: required for a dedicated database.")
                alias = actions.do_make_dedicated(
                    tenant, values["url"], owner_url=values.get("owner_url", ""), actor=actor
                )
            else:
                actions.do_make_pooled(tenant, actor=actor)
                alias = "default"
        except actions.ConnectionUsageError as exc:
            status, code = (409, "conflict") if exc.conflict else (400, "invalid_database")
            reasons = "" if exc.reasons == [str(exc)] else " " + "; ".join(exc.reasons)
            raise TenantAPIError(status, code, f"{exc}{reasons}") from None
        return Response({"mode": values["mode"], "alias": alias})
