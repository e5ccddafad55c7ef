"""GDPR API under /api/v1/lifecycle/ (issue 16): exports (Art. 15/20) and erasure
(Art. 17) with its certificates.

Who may do what:
- an export of one's own data: any member; of the tenant, or of another member: admins;
- the download: whoever holds the link, in the export's tenant, once, by POST (a GET
  never takes the archive);
- erasing a member of the tenant: owners, confirmed with that member's user name;
- erasing the whole tenant: platform operators only, confirmed with the tenant's slug;
- certificates: admins of the tenant (and operators), verifiable at any time.

Another tenant's export or certificate answers exactly like a missing one (404)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from lifecycle_mgr import erasure, exports
from lifecycle_mgr.gdpr_models import ErasureCertificate, ExportArchive
from lifecycle_mgr.holds import LegalHoldActive
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.models import ROLE_RANK, Membership, Role


def _actor(request) -> str:
    return request.user.get_username()


def _is_admin(request) -> bool:
    role = request.tenant_role
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.ADMIN]


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _pk(raw) -> int:
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404
    return int(raw)


class ExportSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    download_path = serializers.SerializerMethodField()

    class Meta:
        model = ExportArchive
        fields = [
            "id",
            "user",
            "state",
            "job",
            "progress",
            "size_bytes",
            "requested_by",
            "created_at",
            "ready_at",
            "expires_at",
            "downloaded_at",
            "download_path",
        ]

    def get_progress(self, export) -> float:
        return export.job.progress if export.job_id else 0.0

    def get_download_path(self, export) -> str | None:
        """Where to POST for the archive (once, before `expires_at`)."""
        token = exports.download_link(export)
        return f"/api/v1/lifecycle/exports/download/{token}/" if token else None


class ExportCreatedSerializer(ExportSerializer):
    key = serializers.CharField(help_text="The archive's AES-256 key (base64url), shown once.")

    class Meta(ExportSerializer.Meta):
        fields = [*ExportSerializer.Meta.fields, "key"]


class ExportRequestSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["tenant", "user"], default="user")
    user_id = serializers.IntegerField(required=False, min_value=1, max_value=2**62)


class EraseUserSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1, max_value=2**62)
    confirm = serializers.CharField(max_length=150, help_text="The member's user name.")


class EraseTenantSerializer(serializers.Serializer):
    confirm = serializers.CharField(max_length=63, help_text="The tenant's slug.")


class CertificateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ErasureCertificate
        fields = ["id", "subject_user_id", "entry_seq", "receipt", "signature", "created_at"]


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    log_ok = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    proof = serializers.DictField(allow_null=True)


def _export_error(exc: exports.ExportError) -> TenantAPIError:
    return TenantAPIError(exc.status, exc.code, str(exc))


def _visible(request):
    """Admins see the tenant's exports; other members their own."""
    exports_ = ExportArchive.objects.select_related("job").order_by("-created_at", "-id")
    return exports_ if _is_admin(request) else exports_.filter(user=request.user)


class ExportListView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.VIEWER  # one's own data; the tenant's is checked below

    @extend_schema(responses=ExportSerializer(many=True))
    def get(self, request, *args, **kwargs):
        """The tenant's exports (admins), or one's own (other members)."""
        return Response(ExportSerializer(_visible(request)[:100], many=True).data)

    @extend_schema(
        request=ExportRequestSerializer,
        responses={202: ExportCreatedSerializer},
    )
    def post(self, request, *args, **kwargs):
        """Ask for an export: `scope=user` (one's own data, or `user_id`'s: admins) or
        `scope=tenant` (admins). 409 `export_running` while another export of the tenant
        runs. The answer holds the archive's key, this once."""
        data = _validated(ExportRequestSerializer, request.data)
        user_id = None
        if data["scope"] == "user":
            user_id = data.get("user_id") or request.user.pk
        if (data["scope"] == "tenant" or user_id != request.user.pk) and not _is_admin(request):
            raise TenantAPIError(403, "permission_denied", "Only admins export others' data.")
        if (
            user_id is not None
            and not Membership.objects.filter(tenant_id=request.tenant.pk, user_id=user_id).exists()
        ):
            raise Http404  # not a member here: as if no such user
        try:
            export, key = exports.request_export(user_id=user_id, actor=_actor(request))
        except exports.ExportError as exc:
            raise _export_error(exc) from None
        body = {**ExportSerializer(export).data, "key": key}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(TenantAPIView):
    read_role = Role.VIEWER

    @extend_schema(responses=ExportSerializer)
    def get(self, request, pk=None, *args, **kwargs):
        export = _visible(request).filter(pk=_pk(pk)).first()
        if export is None:
            raise Http404
        return Response(ExportSerializer(export).data)


class ExportDownloadView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.VIEWER  # the link is the authority; the tenant must match it

    @extend_schema(
        request=None,
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            410: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description="Gone: already downloaded, or the link expired (an error body).",
            ),
        },
    )
    def post(self, request, token=None, *args, **kwargs):
        """The encrypted archive, once (format: lifecycle_mgr/exports_archive.py). 410
        `export_gone` when it was taken already or the link expired; 404 for a link of
        another tenant or a forged one."""
        try:
            export, body = exports.take_download(token or "", actor=_actor(request))
        except exports.ExportError as exc:
            raise _export_error(exc) from None
        response = HttpResponse(body, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="export-{export.pk}.dimx"'
        response["Cache-Control"] = "no-store"
        return response


class EraseUserView(TenantAPIView):
    read_role = Role.OWNER
    write_role = Role.OWNER

    @extend_schema(
        request=EraseUserSerializer,
        responses={201: CertificateSerializer},
    )
    def post(self, request, *args, **kwargs):
        """Erase a member's data in this tenant (Art. 17): their keys, the rows about
        them, their membership; answers the erasure certificate. `confirm` must be the
        member's user name (400 otherwise); 409 `legal_hold` under a hold."""
        data = _validated(EraseUserSerializer, request.data)
        member = (
            Membership.objects.select_related("user")
            .filter(tenant_id=request.tenant.pk, user_id=data["user_id"])
            .first()
        )
        if member is None:
            raise Http404
        if data["confirm"] != member.user.get_username():
            raise TenantAPIError(400, "confirmation_mismatch", "confirm must be the user name")
        try:
            certificate = erasure.erase_user(
                request.tenant.pk, member.user_id, actor=_actor(request)
            )
        except LegalHoldActive as exc:
            raise TenantAPIError(409, "legal_hold", str(exc)) from None
        return Response(CertificateSerializer(certificate).data, status=status.HTTP_201_CREATED)


class EraseTenantView(TenantAPIView):
    read_role = Role.OWNER
    write_role = Role.OWNER

    @extend_schema(
        request=EraseTenantSerializer,
        responses={201: CertificateSerializer},
    )
    def post(self, request, *args, **kwargs):
        """Erase the whole tenant's data (Art. 17). Platform operators only; `confirm`
        must be the tenant's slug. 409 `legal_hold` under a hold, nothing changed."""
        if not request.user.is_superuser:
            raise TenantAPIError(403, "permission_denied", "Only platform operators erase tenants.")
        data = _validated(EraseTenantSerializer, request.data)
        if data["confirm"] != request.tenant.slug:
            raise TenantAPIError(400, "confirmation_mismatch", "confirm must be the tenant slug")
        try:
            certificate = erasure.erase_tenant(request.tenant.pk, actor=_actor(request))
        except LegalHoldActive as exc:
            raise TenantAPIError(409, "legal_hold", str(exc)) from None
        return Response(CertificateSerializer(certificate).data, status=status.HTTP_201_CREATED)


class CertificateListView(TenantAPIView):
    read_role = Role.ADMIN

    @extend_schema(responses=CertificateSerializer(many=True))
    def get(self, request, *args, **kwargs):
        rows = ErasureCertificate.objects.order_by("-created_at", "-id")[:100]
        return Response(CertificateSerializer(rows, many=True).data)


class CertificateVerifyView(TenantAPIView):
    read_role = Role.ADMIN

    @extend_schema(responses=VerificationSerializer)
    def get(self, request, pk=None, *args, **kwargs):
        """Check the certificate against the tenant's audit log now (what is sequenced;
        writes nothing): its entry, its signature, the log, the inclusion proof."""
        certificate = ErasureCertificate.objects.filter(pk=_pk(pk)).first()
        if certificate is None:
            raise Http404
        return Response(erasure.verify_certificate(certificate, sequence_first=False))
