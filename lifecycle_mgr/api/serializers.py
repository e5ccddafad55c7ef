from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from lifecycle_mgr.models import QUOTAS, TierPolicy
from lifecycle_mgr.states import TRANSITIONS


class TierPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = TierPolicy
        fields = [
            "name",
            "title",
            "max_users",
            "max_sessions",
            "max_metadata_records",
            "max_metric_samples_per_day",
            "max_api_requests_per_minute",
            "retention_days",
            "default_security_level",
            "isolation_mode",
            "updated_at",
        ]
        read_only_fields = ["name", "updated_at"]
        extra_kwargs = {f"max_{q}": {"max_value": 2_000_000_000} for q in QUOTAS}

    def validate_retention_days(self, value):
        try:
            TierPolicy(retention_days=value).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["retention_days"]) from None
        return value


class LifecycleSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    state = serializers.CharField()
    tier = serializers.CharField()
    since = serializers.DateTimeField()
    allowed_transitions = serializers.ListField(child=serializers.CharField())
    running_transition = serializers.IntegerField(allow_null=True)
    legal_hold = serializers.CharField(allow_null=True)


class EnrolSerializer(serializers.Serializer):
    tier = serializers.CharField(max_length=50)


class TransitionRequestSerializer(serializers.Serializer):
    transition = serializers.ChoiceField(choices=list(TRANSITIONS))


class TransitionRunSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    transition = serializers.CharField()
    state = serializers.CharField()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class TransitionsSerializer(serializers.Serializer):
    state = serializers.CharField()
    allowed = serializers.ListField(child=serializers.CharField())
    runs = TransitionRunSerializer(many=True)


class QuotaUsageSerializer(serializers.Serializer):
    quota = serializers.CharField()
    tier = serializers.CharField()
    limit = serializers.IntegerField(allow_null=True)
    used = serializers.IntegerField(allow_null=True)
