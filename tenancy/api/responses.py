"""The shapes of the tenancy API's answers that no model serializer describes, for the
OpenAPI schema only. Error bodies are documented once (tenancy/api/openapi.py)."""

from rest_framework import serializers

from tenancy.api.serializers import MembershipSerializer, TenantSerializer
from tenancy.models import Role


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_platform_operator = serializers.BooleanField()
    current_tenant = TenantSerializer(allow_null=True)
    role = serializers.ChoiceField(Role.choices, allow_null=True)
    memberships = MembershipSerializer(many=True)


class IsolationReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    vendor = serializers.CharField(help_text="The database vendor (postgresql, sqlite).")
    runtime_role = serializers.CharField(allow_null=True, allow_blank=True)
    tables_checked = serializers.ListField(child=serializers.CharField())
    problems = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())
