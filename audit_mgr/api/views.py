"""Audit API: the tenant's entries, signed tree heads, inclusion and consistency
proofs, and verification. Served under /api/v1/security/audit/ (config/urls.py), where
they were when the log lived in security_mgr.

The GETs never write: they answer from the sequenced log and report what is still
pending (`pending`: count and age of the oldest), which the sequencer numbers within
seconds of its commit (`sequence_soon`, and the beat sweep). Only POST (signing a head)
sequences first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

import audit_mgr as audit
from audit_mgr import actions
from audit_mgr.api import responses as r
from audit_mgr.api import serializers as s
from audit_mgr.api.base import SecurityErrorsAre400, SecurityView, validated
from audit_mgr.models import AuditEntry, SignedTreeHead
from tenancy.api.base import TenantAPIMixin
from tenancy.models import Role


class AuditEntryViewSet(SecurityErrorsAre400, TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AuditEntrySerializer
    read_role = Role.ADMIN
    lookup_field = "seq"
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return AuditEntry.objects.order_by("seq")

    def list(self, request, *args, **kwargs):
        """The sequenced entries, and `pending`: the committed entries still waiting for
        their seq (count, age of the oldest in seconds), listed once the sequencer ran."""
        response = super().list(request, *args, **kwargs)
        response.data["pending"] = audit.pending_status(audit.tenant_log())
        return response


class TreeHeadViewSet(
    SecurityErrorsAre400, TenantAPIMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Signed tree heads; POST signs the current head now."""

    serializer_class = s.SignedTreeHeadSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get_queryset(self):
        return SignedTreeHead.objects.order_by("tree_size", "id")

    @extend_schema(request=None, responses=s.SignedTreeHeadSerializer)
    def create(self, request, *args, **kwargs):
        head = actions.sign_tree_head()
        return Response(s.SignedTreeHeadSerializer(head).data, status=201)


class InclusionProofView(SecurityView):
    @extend_schema(
        parameters=[
            OpenApiParameter("index", int, required=True),
            OpenApiParameter("tree_size", int, required=False),
        ],
        responses=r.InclusionProofSerializer,
    )
    def get(self, request, *args, **kwargs):
        data = validated(s.InclusionQuerySerializer, request.query_params)
        return Response(
            audit.prove_inclusion(
                audit.tenant_log(), data["index"], data.get("tree_size"), sequence_first=False
            )
        )


class ConsistencyProofView(SecurityView):
    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter("second", int, required=False),
        ],
        responses=r.ConsistencyProofSerializer,
    )
    def get(self, request, *args, **kwargs):
        data = validated(s.ConsistencyQuerySerializer, request.query_params)
        return Response(
            audit.prove_consistency(
                audit.tenant_log(), data["first"], data.get("second"), sequence_first=False
            )
        )


class VerifyAuditView(SecurityView):
    @extend_schema(responses=r.AuditVerificationSerializer)
    def get(self, request, *args, **kwargs):
        return Response(audit.verify_log(audit.tenant_log(), sequence_first=False).as_dict())
