"""Security API: key rings (metadata only, never key material), transit encryption,
security events and rewrap jobs (the audit log's endpoints, under the same prefix, are
audit_mgr's). Every failure of the security domain
(tampered ciphertext, trimmed version, impossible proof) is a 400 naming the reason."""

from __future__ import annotations

import base64

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from audit_mgr.api.base import SecurityErrorsAre400, SecurityView, validated
from audit_mgr.models import SecurityEvent
from jobs_mgr.models import Job
from security_mgr import actions, crypto, keyring, selectors
from security_mgr.api import responses as r
from security_mgr.api import serializers as s
from security_mgr.models import KeyRing
from tenancy.api.base import TenantAPIMixin
from tenancy.api.errors import TenantAPIError
from tenancy.models import Role


def _actor(request) -> str:
    return request.user.get_username()


class KeyRingViewSet(SecurityErrorsAre400, TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    """The tenant's key rings and their versions (no key material, ever)."""

    serializer_class = s.KeyRingSerializer
    read_role = Role.ADMIN
    lookup_field = "subject"
    lookup_value_regex = r"[A-Za-z0-9_.:=@-]+"

    def get_queryset(self):
        return KeyRing.objects.prefetch_related("versions").order_by("subject")


class RotateKeyView(SecurityView):
    @extend_schema(request=s.RotateSerializer, responses=s.KeyRingSerializer)
    def post(self, request, *args, **kwargs):
        data = validated(s.RotateSerializer, request.data)
        ring = actions.rotate_key(
            subject=data["subject"], actor=_actor(request), reason=data["reason"]
        )
        return Response(s.KeyRingSerializer(KeyRing.objects.get(pk=ring.pk)).data)


class KeyConfigView(SecurityView):
    """Minimum decryption version, trim, automatic rotation period."""

    @extend_schema(request=s.KeyConfigSerializer, responses=s.KeyRingSerializer)
    def post(self, request, *args, **kwargs):
        data = validated(s.KeyConfigSerializer, request.data)
        options = {k: data[k] for k in ("min_decryption_version", "trim_below") if k in data}
        if "rotation_period_days" in data:
            options["rotation_period_days"] = data["rotation_period_days"]
        ring = actions.do_configure_key_ring(
            subject=data["subject"], actor=_actor(request), **options
        )
        return Response(s.KeyRingSerializer(ring).data)


class ShredKeysView(SecurityView):
    """Crypto-shredding: irreversible. Owners only, confirmed with the tenant's slug."""

    write_role = Role.OWNER

    @extend_schema(request=s.ShredSerializer, responses=r.ShredResultSerializer)
    def post(self, request, *args, **kwargs):
        data = validated(s.ShredSerializer, request.data)
        if data["confirm"] != request.tenant.slug:
            raise TenantAPIError(400, "confirmation_mismatch", "confirm must be the tenant slug")
        result = actions.shred_keys(
            subject=data.get("subject"), actor=_actor(request), reason=data["reason"]
        )
        return Response(result)


class PublicKeysView(SecurityView):
    """The tenant's hybrid wrapping key (X25519 + ML-KEM-768) and the tree-head
    verification keys (Ed25519 + ML-DSA-65). Readable by every member."""

    read_role = Role.VIEWER

    @extend_schema(responses=r.PublicKeysSerializer)
    def get(self, request, *args, **kwargs):
        return Response(selectors.public_keys(request.tenant.pk))


class TransitEncryptView(SecurityView):
    write_role = Role.MEMBER

    @extend_schema(request=s.TransitEncryptSerializer, responses=r.CiphertextSerializer)
    def post(self, request, *args, **kwargs):
        data = validated(s.TransitEncryptSerializer, request.data)
        aad = crypto.associated_data(request.tenant.pk, "api.transit", "", data["context"])
        return Response({"ciphertext": keyring.encrypt(data["plaintext"].encode(), aad)})


class TransitDecryptView(SecurityView):
    write_role = Role.MEMBER

    @extend_schema(request=s.TransitDecryptSerializer, responses=r.PlaintextSerializer)
    def post(self, request, *args, **kwargs):
        data = validated(s.TransitDecryptSerializer, request.data)
        aad = crypto.associated_data(request.tenant.pk, "api.transit", "", data["context"])
        plain = keyring.decrypt(data["ciphertext"], aad)
        try:
            return Response({"plaintext": plain.decode()})
        except UnicodeDecodeError:
            return Response({"plaintext_b64": base64.b64encode(plain).decode()})


class SecurityEventViewSet(SecurityErrorsAre400, TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.SecurityEventSerializer
    read_role = Role.ADMIN

    def get_queryset(self):
        return SecurityEvent.objects.order_by("-created_at", "-id")


class RewrapJobViewSet(
    SecurityErrorsAre400, TenantAPIMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Rewrap jobs and their progress; POST starts one (a Celery task runs it). Resume
    and cancel: `/api/v1/jobs/<id>/resume/` and `.../cancel/` (jobs_mgr)."""

    serializer_class = s.RewrapJobSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    model = Job  # another tenant's job answers the same 404 as a missing one

    def get_queryset(self):
        from security_mgr import rewrap

        return rewrap.rewrap_jobs()

    @extend_schema(request=s.StartRewrapSerializer, responses={202: s.RewrapJobSerializer})
    def create(self, request, *args, **kwargs):
        from security_mgr import rewrap

        data = validated(s.StartRewrapSerializer, request.data)
        job = rewrap.do_start_rewrap(
            target_version=data.get("target_version"), actor=_actor(request)
        )
        return Response(s.RewrapJobSerializer(job).data, status=202)
