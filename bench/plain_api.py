"""The peer of the API row: a DRF list view with nothing tenant-related in it.

Everything else matches `TenantSettingViewSet`'s list: the same authentication classes
(the defaults), the same pagination class and page size, the same filter backends and a
serializer with the same fields, so the ratio isolates tenant resolution, scoping and
RLS. It sits under /api/ so that TenantContextMiddleware treats both requests alike.
"""

from rest_framework import filters, generics, serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.models import PlainSetting


class PlainSettingSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlainSetting
        fields = ["id", "key", "value", "description", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class PlainSettingList(generics.ListAPIView):
    queryset = PlainSetting.objects.all()
    serializer_class = PlainSettingSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["key", "description"]
    ordering_fields = ["key", "updated_at"]


class Noop(APIView):
    """Peer of `sessions.http_validate`: a DRF view that does nothing (no
    authentication, no permission, an empty JSON body)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request, *args, **kwargs):
        return Response({})
