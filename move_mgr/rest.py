"""`POST /api/v1/connections/tenants/<slug>/move/` (platform operators): start a move,
202 with the workflow run's id; 400/409 with the reasons, nothing started."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from connection_mgr.actions import ConnectionUsageError
from connection_mgr.rest.views import DatabaseURLsSerializer
from move_mgr import actions
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.api.permissions import IsPlatformOperator


class MoveSerializer(DatabaseURLsSerializer):
    to = serializers.ChoiceField(choices=["dedicated", "pooled"])


class TenantMoveView(TenantAPIView):
    """Move a tenant between the shared tables and a database of its own, as a
    workflow (`tenant_move`): copy, verify, switch, purge."""

    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(
        request=MoveSerializer,
        responses={
            202: inline_serializer(
                "TenantMove",
                {
                    "run": serializers.IntegerField(),
                    "state": serializers.CharField(),
                    "to": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request, slug, *args, **kwargs):
        from tenancy.models import Tenant

        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise TenantAPIError(404, "not_found", f"No tenant {slug!r}.")
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            run = actions.do_start_move(
                tenant,
                values["to"],
                url=values.get("url", ""),
                owner_url=values.get("owner_url", ""),
                actor=request.user.get_username(),
            )
        except ConnectionUsageError as exc:
            status, code = (409, "conflict") if exc.conflict else (400, "invalid_move")
            reasons = "" if exc.reasons == [str(exc)] else " " + "; ".join(exc.reasons)
            raise TenantAPIError(status, code, f"{exc}{reasons}") from None
        return Response({"run": run.pk, "state": run.state, "to": values["to"]}, status=202)
