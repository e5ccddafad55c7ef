from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sessions_mgr.models import SecurityLevel, Session, SessionType
from tenancy.api import references
from tenancy.api.error_types import TenantAPIError
from tenancy.api.fields import CaseInsensitiveChoiceField
from tenancy.models import ROLE_RANK, Membership, Role


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


# Longer digit strings are usernames, never ids: every id of up to 18 digits fits in a
# signed 64-bit integer, so a huge id is a 400, not a database overflow (a 500).
MAX_ID_DIGITS = 18
# Stands for "another user" when a caller who may only act on themselves names someone:
# the view answers 403 before anyone looks the name up, so the answer is no oracle.
SOMEONE_ELSE = 0


def _is_admin(request) -> bool:
    role = getattr(request, "tenant_role", None)
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.ADMIN]


def member_id(request, ref: str) -> int:
    """The user `ref` (a username or an id, as the seed writes `"user_456"`) names, as an
    id. Yourself always; other members are looked up only for admins of the tenant
    (usernames first, as in the Python API), and an admin naming nobody gets a 400."""
    user = request.user
    ref = ref.strip()
    if ref == user.get_username() or ref == str(user.pk):
        return user.pk
    is_id = ref.isascii() and ref.isdigit() and len(ref) <= MAX_ID_DIGITS
    if not _is_admin(request):
        return int(ref) if is_id and int(ref) > 0 else SOMEONE_ELSE
    members = Membership.objects.filter(tenant=request.tenant)
    found = members.filter(user__username=ref).values_list("user_id", flat=True).first()
    if found is None and is_id:
        found = members.filter(user_id=int(ref)).values_list("user_id", flat=True).first()
    if found is None:
        raise TenantAPIError(400, "unknown_user", "No such member of this tenant.")
    return found


def text_or_id(max_length: int) -> dict:
    """The schema of a reference given as text or as a number (DRF's CharField takes
    both), so that the OpenAPI schema accepts what the API accepts."""
    return {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": max_length},
            {"type": "integer", "minimum": 1},
        ]
    }


@extend_schema_field(text_or_id(150))
class MemberReferenceField(serializers.CharField):
    """A user id (number or digits) or a username; resolved by the serializer."""

    def __init__(self, **kwargs):
        super().__init__(max_length=150, required=False, allow_blank=False, **kwargs)


@extend_schema_field(text_or_id(64))
class TenantReferenceField(serializers.CharField):
    """A tenant id (number or digits) or slug; checked by the serializer."""


class TenantReferenceMixin(serializers.Serializer):
    """`tenant_id`: optional; when given, an id or slug that must name the tenant the
    request acts in (tenancy/api/references.py)."""

    tenant_id = TenantReferenceField(required=False, max_length=64)

    def validate_tenant_id(self, value):
        return references.check(self.context["request"], value)

    def validate_user_id(self, value):
        return member_id(self.context["request"], value)


class CreateSessionSerializer(TenantReferenceMixin):
    session_type = CaseInsensitiveChoiceField(SessionType.choices, default=SessionType.USER)
    security_level = CaseInsensitiveChoiceField(
        SecurityLevel.choices, default=SecurityLevel.STANDARD
    )
    device_fingerprint = serializers.CharField(max_length=128, required=False, default="")
    user_id = MemberReferenceField()
    # TOTP or backup code, for levels that require MFA (else the session awaits step-up).
    mfa_code = serializers.CharField(
        max_length=64, required=False, allow_blank=True, trim_whitespace=True, default=""
    )


class StepUpSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, trim_whitespace=True)


class RevokeAllSerializer(TenantReferenceMixin):
    user_id = MemberReferenceField()
    tenant = serializers.BooleanField(default=False)
