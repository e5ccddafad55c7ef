"""What every metadata view shares: the tenant stack, the answer to a MetadataError
(its status and body, e.g. the reasons of an incompatible schema), pages."""

from __future__ import annotations

from rest_framework.response import Response

from metadata_mgr.exceptions import MetadataError
from tenancy.api.base import TenantAPIView
from tenancy.api.pagination import TenantPagination
from tenancy.models import Role


class MetadataAPIView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.MEMBER
    # Lists are paged (and documented as pages: drf-spectacular reads this attribute).
    pagination_class = TenantPagination

    def handle_exception(self, exc):
        if isinstance(exc, MetadataError):
            return Response(exc.as_body(), status=exc.status, headers=exc.headers or None)
        return super().handle_exception(exc)

    def actor(self) -> str:
        return self.request.user.get_username()

    def page(self, queryset, serialize) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serialize(rows))
