from drf_spectacular.utils import extend_schema
from rest_framework import filters
from rest_framework.response import Response

from tenancy.api.base import TenantAPIView, TenantScopedModelViewSet
from tenancy.api.permissions import IsPlatformOperator
from tenancy.api.responses import IsolationReportSerializer, MeSerializer
from tenancy.api.serializers import (
    MembershipSerializer,
    TenantSerializer,
    TenantSettingSerializer,
)
from tenancy.models import Membership, Role, TenantSetting


class MeView(TenantAPIView):
    tenant_required = False
    single_tenant_default = True  # a member of one tenant sees it as current_tenant

    @extend_schema(responses=MeSerializer)
    def get(self, request, *args, **kwargs):
        memberships = Membership.objects.filter(user=request.user).select_related("tenant")
        return Response(
            {
                "username": request.user.get_username(),
                "is_platform_operator": request.user.is_superuser,
                "current_tenant": TenantSerializer(request.tenant).data if request.tenant else None,
                "role": request.tenant_role,
                "memberships": MembershipSerializer(memberships, many=True).data,
            }
        )


class CurrentTenantView(TenantAPIView):
    @extend_schema(responses=TenantSerializer)
    def get(self, request, *args, **kwargs):
        return Response(TenantSerializer(request.tenant).data)


class TenantSettingViewSet(TenantScopedModelViewSet):
    """Per-tenant configuration. Viewers read, admins write."""

    model = TenantSetting
    serializer_class = TenantSettingSerializer
    queryset = TenantSetting.objects.all()
    write_role = Role.ADMIN
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["key", "description"]
    ordering_fields = ["key", "updated_at"]


class IsolationReportView(TenantAPIView):
    """The live isolation report (`check_isolation`) for platform operators."""

    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses=IsolationReportSerializer)
    def get(self, request, *args, **kwargs):
        from tenancy import rls_inspect

        return Response(rls_inspect.inspect().as_dict())
