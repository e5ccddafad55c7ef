"""The audit API's serializers: entries and signed tree heads (hashes and signatures
in hex), and the proof queries."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit_mgr.models import AuditEntry, SignedTreeHead

MAX_SIZE = 2**62


@extend_schema_field(OpenApiTypes.STR)
class HexField(serializers.Field):
    def to_representation(self, value):
        return bytes(value).hex()


class AuditEntrySerializer(serializers.ModelSerializer):
    leaf_hash = HexField()
    root_hash = HexField()

    class Meta:
        model = AuditEntry
        fields = ["seq", "event", "actor", "created_at", "data", "leaf_hash", "root_hash"]


class SignedTreeHeadSerializer(serializers.ModelSerializer):
    root_hash = HexField()
    sig_ed25519 = HexField()
    sig_mldsa65 = HexField()

    class Meta:
        model = SignedTreeHead
        fields = [
            "id",
            "tree_size",
            "root_hash",
            "signed_at",
            "key_id",
            "sig_ed25519",
            "sig_mldsa65",
        ]


class InclusionQuerySerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0, max_value=MAX_SIZE)
    tree_size = serializers.IntegerField(min_value=1, max_value=MAX_SIZE, required=False)


class ConsistencyQuerySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=1, max_value=MAX_SIZE)
    second = serializers.IntegerField(min_value=1, max_value=MAX_SIZE, required=False)
