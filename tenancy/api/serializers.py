from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenancy.api.base import TenantScopedModelSerializer
from tenancy.models import Membership, Tenant, TenantSetting


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "state", "tier", "isolation_mode", "created_at"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    tenant = TenantSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["tenant", "role", "created_at"]
        read_only_fields = fields


# Any JSON value but null (the column is NOT NULL): what the schema says too.
@extend_schema_field(
    {
        "anyOf": [
            {"type": "object", "additionalProperties": True},
            {"type": "array", "items": {}},
            {"type": "string"},
            {"type": "number"},
            {"type": "boolean"},
        ]
    }
)
class SettingValueField(serializers.JSONField):
    pass


class TenantSettingSerializer(TenantScopedModelSerializer):
    value = SettingValueField(required=False)

    class Meta:
        model = TenantSetting
        fields = ["id", "key", "value", "description", "updated_at"]
        read_only_fields = ["id", "updated_at"]
