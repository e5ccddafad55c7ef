"""The shapes of the audit API's answers that no model serializer describes, for the
OpenAPI schema only (the views build these bodies themselves)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.OBJECT)
class FreeFormField(serializers.JSONField):
    """A JSON object whose members are defined elsewhere (WebAuthn, a signed receipt)."""


class InclusionProofSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="hex")
    root_hash = serializers.CharField(help_text="hex")
    proof = serializers.ListField(child=serializers.CharField(help_text="hex"))


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root = serializers.CharField(help_text="hex")
    second_root = serializers.CharField(help_text="hex")
    proof = serializers.ListField(child=serializers.CharField(help_text="hex"))


class AuditVerificationSerializer(serializers.Serializer):
    """The verification report; see docs/audit.md for every member."""

    ok = serializers.BooleanField()
    entries = serializers.IntegerField()
    pending_before = FreeFormField(
        help_text="The entries still waiting for their seq: count, oldest_age_s, and "
        "left_pending when they were left out (the GET verifies the sequenced log only)."
    )
    recorded_size = serializers.IntegerField(
        allow_null=True, help_text="The head row's size (null: no head row)."
    )
    signed_size = serializers.IntegerField(help_text="The latest signed tree head's size.")
    unsigned = FreeFormField(
        help_text="The entries after the latest signed head: count, and when there are "
        "any, from, to (seq) and oldest_at."
    )
    problems = serializers.ListField(child=serializers.CharField())
