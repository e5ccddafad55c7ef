"""Records under /api/v1/metadata/records/ (and the seed's POST /metadata/create)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from metadata_mgr import actions, selectors
from metadata_mgr.api import serializers as s
from metadata_mgr.api.base import MetadataAPIView
from metadata_mgr.exceptions import MetadataError, not_found
from metadata_mgr.models import MetadataType
from tenancy.api.errors import TenantAPIError
from tenancy.models import ROLE_RANK, Role

LIST_PARAMETERS = [
    OpenApiParameter("type", str, enum=MetadataType.values, description="Only this type."),
    OpenApiParameter("tag", {"type": "string", "maxLength": 64}, description="Records with it."),
    OpenApiParameter("owner", {"type": "string", "maxLength": 150}, description="Exact owner."),
    OpenApiParameter("subject", {"type": "string", "maxLength": 255}, description="Subject."),
    OpenApiParameter(
        "deleted",
        str,
        enum=list(selectors.DELETED_CHOICES),
        description="0: live records (default); 1: deleted ones; all: both.",
    ),
]
WRITTEN = {"written": True}  # serializer context of a write's answer
VERSION_REF = {"type": "string", "pattern": s.VERSION_PATTERN}


def _record(record_id):
    record = selectors.get_record(record_id)
    if record is None:
        raise not_found()
    return record


def _query(request) -> dict:
    params = request.query_params
    deleted = params.get("deleted", "0") or "0"
    if deleted not in selectors.DELETED_CHOICES:
        raise TenantAPIError(400, "invalid_filter", "deleted must be 0, 1 or all.")
    kind = params.get("type")
    if kind and kind not in MetadataType.values:
        raise TenantAPIError(
            400, "invalid_filter", f"type must be one of {', '.join(MetadataType.values)}."
        )
    return {
        "metadata_type": kind or None,
        "tag": params.get("tag") or None,
        "owner": params.get("owner"),
        "subject": params.get("subject") or None,
        "deleted": deleted,
    }


class RecordListCreateView(MetadataAPIView):
    """The tenant's records (filters, pages; no content in the list) and creation
    (the seed's body: `tenant_id`, `metadata_type`, `content`, `schema_name`)."""

    body_tenant_field = "tenant_id"  # the seed's body may name the tenant

    @extend_schema(responses=s.RecordSummarySerializer(many=True), parameters=LIST_PARAMETERS)
    def get(self, request, *args, **kwargs):
        queryset = selectors.records(**_query(request))
        return self.page(queryset, lambda rows: s.RecordSummarySerializer(rows, many=True).data)

    @extend_schema(request=s.RecordCreateSerializer, responses={201: s.RecordSerializer})
    def post(self, request, *args, **kwargs):
        data = s.RecordCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        record = actions.do_create_record(actor=self.actor(), **data.validated_data)
        body = s.RecordSerializer(record, context=WRITTEN).data
        return Response(body, status=status.HTTP_201_CREATED)


class RecordDetailView(MetadataAPIView):
    """A record with its content; PATCH writes a new version when the document changes;
    DELETE is a soft delete (restorable)."""

    @extend_schema(responses=s.RecordSerializer)
    def get(self, request, record_id, *args, **kwargs):
        return Response(s.RecordSerializer(_record(record_id)).data)

    @extend_schema(request=s.RecordUpdateSerializer, responses=s.RecordSerializer)
    def patch(self, request, record_id, *args, **kwargs):
        data = s.RecordUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("sensitive") is False and _record(record_id).sensitive:
            # Storing a sensitive record's history in clear is an admin's decision.
            if ROLE_RANK[Role(request.tenant_role)] < ROLE_RANK[Role.ADMIN]:
                raise PermissionDenied("Only admins make a sensitive record non-sensitive.")
        record, _version = actions.do_update_record(
            record_id, actor=self.actor(), **data.validated_data
        )
        return Response(s.RecordSerializer(record, context=WRITTEN).data)

    @extend_schema(request=None, responses={200: s.RecordSummarySerializer})
    def delete(self, request, record_id, *args, **kwargs):
        record = actions.do_delete_record(record_id, actor=self.actor())
        return Response(s.RecordSummarySerializer(record).data)


class RecordRestoreView(MetadataAPIView):
    """Restore a soft-deleted record (409 while a live record holds its name)."""

    @extend_schema(request=None, responses=s.RecordSummarySerializer)
    def post(self, request, record_id, *args, **kwargs):
        record = actions.do_restore_record(record_id, actor=self.actor())
        return Response(s.RecordSummarySerializer(record).data)


class RecordVersionsView(MetadataAPIView):
    """The record's versions, newest first."""

    @extend_schema(responses=s.VersionSerializer(many=True))
    def get(self, request, record_id, *args, **kwargs):
        versions = selectors.versions_of(_record(record_id))
        return self.page(versions, lambda rows: s.VersionSerializer(rows, many=True).data)


class RecordVersionDetailView(MetadataAPIView):
    """One version (a seq number, a major.minor label or `latest`): its document and
    the changes from the version before."""

    @extend_schema(
        responses=s.VersionDetailSerializer,
        parameters=[OpenApiParameter("ref", VERSION_REF, OpenApiParameter.PATH)],
    )
    def get(self, request, record_id, ref, *args, **kwargs):
        version = selectors.version_of(_record(record_id), ref)
        return Response(s.VersionDetailSerializer(version).data)


class RecordDiffView(MetadataAPIView):
    """The changes between any two versions (JSON pointers, old and new values)."""

    @extend_schema(
        responses=s.DiffSerializer,
        parameters=[
            OpenApiParameter("from", VERSION_REF, required=True, description="Version."),
            OpenApiParameter("to", VERSION_REF, required=True, description="Version."),
        ],
    )
    def get(self, request, record_id, *args, **kwargs):
        record = _record(record_id)
        source, target = request.query_params.get("from"), request.query_params.get("to")
        if not source or not target:
            raise MetadataError(400, "invalid_version", "Give both ?from= and ?to= versions.")
        return Response(selectors.diff_versions(record, source, target))


class RecordRollbackView(MetadataAPIView):
    """A new version equal to the given one; a missing version is a 404 naming it."""

    @extend_schema(request=s.RollbackSerializer, responses=s.RollbackResultSerializer)
    def post(self, request, record_id, *args, **kwargs):
        data = s.RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record, version = actions.do_rollback_record(
            record_id, data.validated_data["version"], actor=self.actor()
        )
        return Response(
            {
                "record": s.RecordSerializer(record, context=WRITTEN).data,
                "version": s.VersionSerializer(version).data,
            }
        )
