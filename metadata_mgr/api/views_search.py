"""Search under /api/v1/metadata/search/ (and the seed's POST /metadata/search).

A POST that only reads: any member of the tenant, viewers included, may search."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from metadata_mgr import search_engine as engine
from metadata_mgr.api.base import MetadataAPIView
from metadata_mgr.api.serializers import (
    StrictBooleanField,
    StrictIntegerField,
    TenantReferenceMixin,
)
from metadata_mgr.models import MetadataType
from metadata_mgr.search.query import MAX_LIMIT, MAX_QUERY, MetadataSearch
from tenancy.models import Role


class SearchRequestSerializer(TenantReferenceMixin):
    """The seed's body (`query`, `semantic_search`, `similarity_threshold`; `tenant_id`
    as a slug, checked against the caller's tenant) plus `keyword_search`, `limit` and
    `metadata_type`. The query itself is checked by MetadataSearch (empty: 400)."""

    query = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=MAX_QUERY)
    semantic_search = StrictBooleanField(required=False, default=True)
    keyword_search = StrictBooleanField(required=False, default=True)
    similarity_threshold = serializers.FloatField(
        required=False, default=0.8, min_value=0.0, max_value=1.0
    )
    limit = StrictIntegerField(required=False, default=10, min_value=1, max_value=MAX_LIMIT)
    metadata_type = serializers.ChoiceField(MetadataType.choices, required=False)

    def validate(self, attrs):
        attrs.pop("tenant_id", None)
        return attrs


class SearchHitSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    metadata_type = serializers.ChoiceField(MetadataType.choices)
    version = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    owner = serializers.CharField(allow_blank=True)
    score = serializers.FloatField(help_text="Reciprocal rank fusion score.")
    keyword_rank = serializers.IntegerField(allow_null=True)
    similarity = serializers.FloatField(allow_null=True, help_text="Cosine similarity.")


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


class SearchView(MetadataAPIView):
    """Keyword and semantic search fused into one ranked list; never returns a
    deleted, sensitive or other tenant's record."""

    body_tenant_field = "tenant_id"
    write_role = Role.VIEWER  # the POST only reads

    @extend_schema(request=SearchRequestSerializer, responses=SearchResponseSerializer)
    def post(self, request, *args, **kwargs):
        data = SearchRequestSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        params = MetadataSearch(**data.validated_data).checked()
        hits = engine.search(params)
        return Response({"query": params.query, "count": len(hits), "results": hits})
