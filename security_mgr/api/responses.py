"""The shapes of the security API's answers that no model serializer describes, for the
OpenAPI schema only (the views build these bodies themselves). Error bodies are
documented once for every operation (tenancy/api/openapi.py)."""

from rest_framework import serializers

from audit_mgr.api.responses import FreeFormField


class DestroyedKeySerializer(serializers.Serializer):
    subject = serializers.CharField()
    version = serializers.IntegerField()
    algorithm = serializers.CharField()
    wrapped_sha256 = serializers.CharField()


class ShredReceiptSerializer(serializers.Serializer):
    type = serializers.CharField()
    tenant = serializers.IntegerField()
    scope = serializers.CharField(help_text="`tenant` or `subject:<subject>`.")
    destroyed = DestroyedKeySerializer(many=True)
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(allow_blank=True)


class ShredResultSerializer(serializers.Serializer):
    receipt = ShredReceiptSerializer()
    signature = FreeFormField(help_text="The receipt's signatures.")
    entry_seq = serializers.IntegerField(help_text="The audit entry holding the receipt.")
    tree_head = serializers.IntegerField(help_text="The signed tree head covering it.")


class WrappingKeySerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    x25519 = serializers.CharField(help_text="base64")
    ml_kem_768 = serializers.CharField(help_text="base64")


class TreeHeadKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    ed25519 = serializers.CharField(help_text="base64")
    ml_dsa_65 = serializers.CharField(help_text="base64")


class PublicKeysSerializer(serializers.Serializer):
    wrapping = WrappingKeySerializer()
    tree_head_signing = TreeHeadKeySerializer()


class CiphertextSerializer(serializers.Serializer):
    ciphertext = serializers.CharField()


class PlaintextSerializer(serializers.Serializer):
    """`plaintext` when the bytes are UTF-8, else `plaintext_b64`."""

    plaintext = serializers.CharField(required=False, trim_whitespace=False)
    plaintext_b64 = serializers.CharField(required=False)


class TOTPEnrolledSerializer(serializers.Serializer):
    device = serializers.UUIDField()
    otpauth_uri = serializers.CharField()


class ConfirmedSerializer(serializers.Serializer):
    confirmed = serializers.BooleanField()


class VerifiedSerializer(serializers.Serializer):
    verified = serializers.BooleanField()


class BackupCodesSerializer(serializers.Serializer):
    codes = serializers.ListField(child=serializers.CharField(), help_text="Shown once.")


class PasskeyCreatedSerializer(serializers.Serializer):
    passkey = serializers.UUIDField()


class PasskeyVerifiedSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    passkey = serializers.UUIDField()
