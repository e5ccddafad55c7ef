"""Bulk import of JSON Lines under /api/v1/metadata/imports/: upload (202, a job),
then follow it and read the rejected lines."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import parsers, status
from rest_framework.response import Response

from metadata_mgr import actions
from metadata_mgr.api import serializers as s
from metadata_mgr.api.base import MetadataAPIView
from metadata_mgr.exceptions import MetadataError, not_found
from metadata_mgr.models import ImportFile, ImportRejection
from metadata_mgr.selectors import as_uuid
from tenancy.api.parsers import CheckedMultiPartParser, StrictJSONParser


class NDJSONParser(parsers.BaseParser):
    """The file itself as the body (bounded like every body, by API_MAX_BODY_BYTES)."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"raw": stream.read() if stream is not None else b""}


def import_body(imported: ImportFile) -> dict:
    job = imported.job
    result = (job.result or {}) if job else {}
    checkpoint = (job.checkpoint or {}) if job else {}
    return {
        "id": imported.pk,
        "filename": imported.filename,
        "lines": imported.lines,
        "size_bytes": imported.size_bytes,
        "job": job.pk if job else None,
        "state": job.state if job else None,
        "done": job.progress_done if job else 0,
        "imported": result.get("imported", checkpoint.get("imported", 0)),
        "rejected": result.get("rejected", checkpoint.get("rejected", 0)),
        "created_at": imported.created_at,
    }


def _import(import_id) -> ImportFile:
    key = as_uuid(import_id)
    found = ImportFile.objects.select_related("job").filter(pk=key).first() if key else None
    if found is None:
        raise not_found()
    return found


class ImportCreateView(MetadataAPIView):
    """Upload a JSON Lines file to import (a long job)."""

    parser_classes = [StrictJSONParser, CheckedMultiPartParser, NDJSONParser]

    @extend_schema(
        request=s.ImportUploadSerializer,
        responses={202: s.ImportSerializer},
        description="Start a bulk import (a long job: progress, resume, cancel under "
        "/api/v1/jobs/). Every line is imported or rejected with its reason "
        "(`rejections/`).",
    )
    def post(self, request, *args, **kwargs):
        data, filename = self._file(request)
        imported, _job = actions.do_start_import(data, filename=filename, actor=self.actor())
        imported.refresh_from_db()
        return Response(import_body(imported), status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _file(request) -> tuple[bytes, str]:
        body = request.data
        if "raw" in body and isinstance(body["raw"], bytes):
            return body["raw"], ""
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            return upload.read(), upload.name or ""
        upload_data = s.ImportUploadSerializer(data=body)
        upload_data.is_valid(raise_exception=True)
        text = upload_data.validated_data["jsonl"]
        if not text.strip():
            raise MetadataError(400, "empty_import", "The file holds no line to import.")
        return text.encode(), upload_data.validated_data.get("filename", "")


class ImportDetailView(MetadataAPIView):
    """An import: its job's state and progress, lines imported and rejected."""

    @extend_schema(responses=s.ImportSerializer)
    def get(self, request, import_id, *args, **kwargs):
        return Response(import_body(_import(import_id)))


class ImportRejectionsView(MetadataAPIView):
    """The import's rejected lines with their reasons."""

    @extend_schema(responses=s.RejectionSerializer(many=True))
    def get(self, request, import_id, *args, **kwargs):
        imported = _import(import_id)
        rows = ImportRejection.objects.filter(import_id=imported.pk).order_by("line")
        return self.page(
            rows, lambda page: [{"line": r.line, "code": r.code, "reason": r.reason} for r in page]
        )
