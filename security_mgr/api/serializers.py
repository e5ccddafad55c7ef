from rest_framework import serializers

from audit_mgr.models import SecurityEvent
from security_mgr.models import DataKey, KeyRing

MAX_VERSION = 999_999_999  # the envelope's version has at most nine digits
SUBJECT = serializers.RegexField(r"^[A-Za-z0-9_.:=@-]{0,120}$", required=False, default="")


class DataKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = DataKey
        fields = ["version", "algorithm", "state", "kek_id", "created_at"]


class KeyRingSerializer(serializers.ModelSerializer):
    versions = DataKeySerializer(many=True, read_only=True)

    class Meta:
        model = KeyRing
        fields = [
            "subject",
            "current_version",
            "min_decryption_version",
            "min_available_version",
            "rotation_period_days",
            "created_at",
            "rotated_at",
            "shredded_at",
            "versions",
        ]


class RotateSerializer(serializers.Serializer):
    subject = SUBJECT
    reason = serializers.CharField(max_length=200, required=False, default="")


class KeyConfigSerializer(serializers.Serializer):
    subject = SUBJECT
    min_decryption_version = serializers.IntegerField(
        min_value=1, max_value=MAX_VERSION, required=False
    )
    trim_below = serializers.IntegerField(
        min_value=1,
        max_value=MAX_VERSION,
        required=False,
        help_text="Destroy versions below this one (trim).",
    )
    rotation_period_days = serializers.IntegerField(
        min_value=1, max_value=36500, required=False, allow_null=True
    )


class ShredSerializer(serializers.Serializer):
    subject = serializers.RegexField(
        r"^[A-Za-z0-9_.:=@-]{1,120}$",
        required=False,
        help_text="Shred this subject's ring only; omit to shred every key of the tenant.",
    )
    confirm = serializers.CharField(help_text="The tenant's slug, to confirm.")
    reason = serializers.CharField(max_length=200)


class TransitEncryptSerializer(serializers.Serializer):
    plaintext = serializers.CharField(max_length=65536, trim_whitespace=False)
    context = serializers.CharField(max_length=200, help_text="Bound as associated data.")


class TransitDecryptSerializer(serializers.Serializer):
    ciphertext = serializers.CharField(max_length=200000)
    context = serializers.CharField(max_length=200)


class SecurityEventSerializer(serializers.ModelSerializer):
    """Every feature's events (audit_mgr's one model); those about a session name it,
    its user and the anomaly score (empty or null otherwise)."""

    session_id = serializers.CharField(source="session_id_ref", read_only=True)
    user_id = serializers.IntegerField(source="user_id_ref", read_only=True, allow_null=True)

    class Meta:
        model = SecurityEvent
        fields = [
            "id",
            "type",
            "severity",
            "actor",
            "source",
            "details",
            "action",
            "created_at",
            "session_id",
            "user_id",
            "score",
        ]


class RewrapJobSerializer(serializers.Serializer):
    """A rewrap job (a `security.rewrap` job of jobs_mgr) in its domain's words; the
    generic view, with resume and cancel, is `/api/v1/jobs/<id>/`."""

    id = serializers.IntegerField()
    target_version = serializers.SerializerMethodField()
    status = serializers.CharField(source="state", help_text="The job's state (jobs_mgr).")
    progress = serializers.FloatField()
    rows_total = serializers.IntegerField(source="progress_total")
    rows_scanned = serializers.SerializerMethodField()
    values_rewrapped = serializers.SerializerMethodField()
    current_model = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    cancel_requested = serializers.BooleanField()
    error = serializers.CharField(source="last_error")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_target_version(self, job) -> int:
        return int(job.params.get("target_version", 0))

    def get_rows_scanned(self, job) -> int:
        return int(job.checkpoint.get("rows_scanned", 0))

    def get_values_rewrapped(self, job) -> int:
        return int(job.checkpoint.get("values_rewrapped", 0))

    def get_current_model(self, job) -> str:
        return job.checkpoint.get("model", "")


class StartRewrapSerializer(serializers.Serializer):
    target_version = serializers.IntegerField(min_value=1, max_value=MAX_VERSION, required=False)


class EnrollTOTPSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False, default="authenticator")


class ConfirmTOTPSerializer(serializers.Serializer):
    device = serializers.UUIDField()
    code = serializers.CharField(max_length=12)


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=24)


class PasskeyRegisterSerializer(serializers.Serializer):
    credential = serializers.JSONField(help_text="The PublicKeyCredential, as JSON.")
    name = serializers.CharField(max_length=60, required=False, default="passkey")


class PasskeyAuthenticateSerializer(serializers.Serializer):
    credential = serializers.JSONField(help_text="The PublicKeyCredential, as JSON.")
