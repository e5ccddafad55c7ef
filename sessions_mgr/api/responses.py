"""The shapes of the session API's answers, for the OpenAPI schema only (the views build
these bodies themselves). Error bodies are documented once for every operation
(tenancy/api/openapi.py)."""

from rest_framework import serializers

from sessions_mgr.api.serializers import SessionSerializer
from sessions_mgr.models import SecurityLevel, SessionType


class SessionWithTokenSerializer(SessionSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The session token (Authorization: Bearer). Shown once."
    )

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "token"]
        read_only_fields = fields


class SessionValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    session_id = serializers.CharField()
    tenant = serializers.CharField(help_text="The tenant's slug.")
    user_id = serializers.IntegerField()
    security_level = serializers.ChoiceField(SecurityLevel.choices)
    session_type = serializers.ChoiceField(SessionType.choices)
    expires_at = serializers.IntegerField(help_text="Absolute expiry, seconds since the epoch.")


class StepUpDoneSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    step_up_required = serializers.BooleanField()


class SessionRevokedSerializer(serializers.Serializer):
    revoked = serializers.BooleanField()
    session_id = serializers.CharField()


class SessionsRevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many sessions were ended.")
    scope = serializers.ChoiceField(["user", "tenant"])
    user_id = serializers.IntegerField(required=False, help_text="With scope `user`.")


class AnalyticsDriverSerializer(serializers.Serializer):
    feature = serializers.CharField()
    robust_z = serializers.FloatField()


class SessionAnalyticsSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    anomaly_score = serializers.FloatField()
    model_version = serializers.IntegerField(
        allow_null=True, help_text="The tenant's IsolationForest version; null: robust z."
    )
    features = serializers.DictField(child=serializers.FloatField())
    drivers = AnalyticsDriverSerializer(many=True)
    risk_score = serializers.FloatField(
        help_text="The score stored by the last evaluation (a task), which the policy acted on."
    )


class AcceptedKeyVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    accepted_until = serializers.FloatField(
        allow_null=True, help_text="End of its grace period (unix seconds); null: current."
    )


class SessionKeyStateSerializer(serializers.Serializer):
    current = serializers.IntegerField(help_text="The key version new tokens are signed with.")
    previous = serializers.IntegerField(
        allow_null=True, help_text="The version this rotation retired (null: none yet)."
    )
    previous_until = serializers.FloatField(
        help_text="End of the previous version's grace period (unix seconds; 0: none)."
    )
    accepted = AcceptedKeyVersionSerializer(
        many=True, help_text="Every accepted version, newest first: tokens of each stay valid."
    )


class TenantPublicKeySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    public_key = serializers.CharField(help_text="Raw ML-DSA-65 public key, base64url.")
    current = serializers.BooleanField()


class TenantPublicKeysSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    algorithm = serializers.CharField()
    token_format = serializers.CharField()
    keys = TenantPublicKeySerializer(many=True)


class SessionViewHealthSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(["fast", "database"])
    revoked_known = serializers.IntegerField()
    sessions_cached = serializers.IntegerField()
    counters = serializers.DictField(child=serializers.IntegerField())
