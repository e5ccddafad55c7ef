from rest_framework import serializers

from sessions_mgr.models import SecurityLevel, Session, SessionType


class SessionSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id", "user", "session_type", "security_level", "created_at", "last_seen_at",
            "idle_expires_at", "absolute_expires_at", "ip", "user_agent", "revoked_at",
            "revoke_reason", "risk_score", "step_up_required", "active",
        ]  # fmt: skip
        read_only_fields = fields

    def get_active(self, obj) -> bool:
        from django.utils import timezone

        return obj.revoked_at is None and obj.absolute_expires_at > timezone.now()


# Ids beyond a signed 64-bit integer are a 400, not a database overflow (a 500).
MAX_ID = 2**63 - 1


class CreateSessionSerializer(serializers.Serializer):
    session_type = serializers.ChoiceField(SessionType.choices, default=SessionType.USER)
    security_level = serializers.ChoiceField(SecurityLevel.choices, default=SecurityLevel.STANDARD)
    device_fingerprint = serializers.CharField(max_length=128, required=False, default="")
    user_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    # TOTP or backup code, for levels that require MFA (else the session awaits step-up).
    mfa_code = serializers.CharField(
        max_length=64, required=False, allow_blank=True, trim_whitespace=True, default=""
    )


class StepUpSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, trim_whitespace=True)


class RevokeAllSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    tenant = serializers.BooleanField(default=False)
