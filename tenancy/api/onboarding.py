"""`POST /api/v1/tenants/`: a platform operator onboards a tenant (tenancy/onboarding.py).
Tenant staff get 403; bad or taken slugs and bad emails a 400 naming the field."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tenancy.actions import do_onboard_tenant
from tenancy.api.base import TenantAPIView
from tenancy.api.permissions import IsPlatformOperator
from tenancy.api.serializers import TenantSerializer
from tenancy.models import TenantTier


class OnboardTenantSerializer(serializers.Serializer):
    slug = serializers.CharField(
        max_length=63, help_text="1-63 lowercase letters, digits or inner hyphens."
    )
    name = serializers.CharField(max_length=200)
    owner_email = serializers.CharField(
        max_length=254, help_text="Found among the users, or a new user is created."
    )
    tier = serializers.ChoiceField(choices=TenantTier.choices, default=TenantTier.FREE)


class OnboardedOwnerSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()
    created = serializers.BooleanField(help_text="A new user, not one found by email.")
    invited = serializers.BooleanField(help_text="The email carries a set-password link.")


class OnboardedTenantSerializer(TenantSerializer):
    owner = OnboardedOwnerSerializer()

    class Meta(TenantSerializer.Meta):
        fields = [*TenantSerializer.Meta.fields, "owner"]
        read_only_fields = fields


class TenantOnboardView(TenantAPIView):
    """Create a tenant, make the owner (by email) its OWNER and email them an invitation."""

    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(request=OnboardTenantSerializer, responses={201: OnboardedTenantSerializer})
    def post(self, request, *args, **kwargs):
        given = OnboardTenantSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            done = do_onboard_tenant(
                **given.validated_data,
                actor=request.user.get_username(),
                base_url=request.build_absolute_uri("/"),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        tenant = done.tenant
        tenant.owner = {
            "username": done.owner.get_username(),
            "email": done.owner.email,
            "created": done.owner_created,
            "invited": done.invited,
        }
        return Response(OnboardedTenantSerializer(tenant).data, status=status.HTTP_201_CREATED)
