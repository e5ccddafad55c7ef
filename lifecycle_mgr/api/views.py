"""The lifecycle API (/api/v1/lifecycle/):

- `state/`, `quotas/`: the caller's tenant's lifecycle and quota usage (its members);
- `tiers/`, `tiers/<name>/`: the tier policies, read and edited by platform operators;
- `tenants/<slug>/`: a tenant's lifecycle (GET), enrolment with a tier (POST);
- `tenants/<slug>/transitions/`: what may happen next and the history (GET), ask for a
  transition (POST, 202 with its workflow run): 409 with the reason for an illegal one
  or a purge under legal hold, and nothing changes.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from lifecycle_mgr import actions, quotas, selectors, states
from lifecycle_mgr.api.serializers import (
    EnrolSerializer,
    LifecycleSerializer,
    QuotaUsageSerializer,
    TierPolicySerializer,
    TransitionRequestSerializer,
    TransitionRunSerializer,
    TransitionsSerializer,
)
from lifecycle_mgr.holds import LegalHoldActive
from lifecycle_mgr.models import TierPolicy
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.api.permissions import IsPlatformOperator
from tenancy.context import platform_access, require_tenant_id
from tenancy.models import Role, Tenant


def _enrolled(tenant_id: int):
    row = selectors.lifecycle_of(tenant_id)
    if row is None:
        raise TenantAPIError(404, "not_enrolled", "This tenant is not enrolled in the lifecycle.")
    return row


def _tenant(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise TenantAPIError(404, "not_found", f"No tenant {slug!r}.")
    return tenant


class OwnLifecycleView(TenantAPIView):
    """The caller's tenant's lifecycle state and tier."""

    read_role = Role.VIEWER

    @extend_schema(responses={200: LifecycleSerializer})
    def get(self, request, *args, **kwargs):
        row = _enrolled(require_tenant_id("the lifecycle state"))
        return Response(LifecycleSerializer(selectors.describe(row)).data)


class QuotaUsageView(TenantAPIView):
    """Every quota of the caller's tenant: its tier's limit (null: none) and the use."""

    read_role = Role.VIEWER

    @extend_schema(responses={200: QuotaUsageSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        rows = quotas.usage(require_tenant_id("quota usage"))
        return Response(QuotaUsageSerializer(rows, many=True).data)


class TiersView(TenantAPIView):
    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses={200: TierPolicySerializer(many=True)})
    def get(self, request, *args, **kwargs):
        return Response(TierPolicySerializer(selectors.tiers(), many=True).data)


class TierView(TenantAPIView):
    tenant_required = False
    permission_classes = [IsPlatformOperator]

    def _tier(self, name: str) -> TierPolicy:
        tier = TierPolicy.objects.filter(name=name).first()
        if tier is None:
            raise TenantAPIError(404, "not_found", f"No tier {name!r}.")
        return tier

    @extend_schema(responses={200: TierPolicySerializer})
    def get(self, request, name, *args, **kwargs):
        return Response(TierPolicySerializer(self._tier(name)).data)

    @extend_schema(request=TierPolicySerializer, responses={200: TierPolicySerializer})
    def patch(self, request, name, *args, **kwargs):
        """Edit a tier: quotas (null: no limit), retention per data kind, defaults.
        Audited in the platform log."""
        from django.db import transaction

        from audit_mgr.actions import record_platform_event

        tier = self._tier(name)
        body = TierPolicySerializer(tier, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        actor = request.user.get_username()
        # Tiers are platform rows: written under the platform claim only (rls_platform).
        with platform_access(f"lifecycle: edit tier {tier.name}", actor=actor):
            with transaction.atomic():
                body.save()
                changed = {k: v for k, v in body.validated_data.items()}
                record_platform_event(
                    "lifecycle.tier_edited", {"tier": tier.name, "changed": sorted(changed)},
                    actor=actor,
                )  # fmt: skip
        return Response(TierPolicySerializer(tier).data)


class TenantLifecycleView(TenantAPIView):
    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses={200: LifecycleSerializer})
    def get(self, request, slug, *args, **kwargs):
        row = _enrolled(_tenant(slug).pk)
        return Response(LifecycleSerializer(selectors.describe(row)).data)

    @extend_schema(request=EnrolSerializer, responses={200: LifecycleSerializer})
    def post(self, request, slug, *args, **kwargs):
        """Enrol the tenant with a tier (state `requested`), or change its tier."""
        tenant = _tenant(slug)
        body = EnrolSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            row = actions.create_tenant_lifecycle(
                tenant.pk, body.validated_data["tier"], actor=request.user.get_username()
            )
        except actions.UnknownTier as exc:
            raise TenantAPIError(400, "unknown_tier", str(exc)) from None
        return Response(
            LifecycleSerializer(selectors.describe(selectors.lifecycle_of(row.pk))).data
        )


class TransitionsView(TenantAPIView):
    tenant_required = False
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses={200: TransitionsSerializer})
    def get(self, request, slug, *args, **kwargs):
        row = _enrolled(_tenant(slug).pk)
        data = {
            "state": row.state,
            "allowed": states.allowed_from(row.state),
            "runs": selectors.transition_history(row.tenant_id),
        }
        return Response(TransitionsSerializer(data).data)

    @extend_schema(request=TransitionRequestSerializer, responses={202: TransitionRunSerializer})
    def post(self, request, slug, *args, **kwargs):
        tenant = _tenant(slug)
        body = TransitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        name = body.validated_data["transition"]
        try:
            run = actions.request_transition(tenant.pk, name, actor=request.user.get_username())
        except states.IllegalTransition as exc:
            raise TenantAPIError(exc.status, exc.code, str(exc)) from None
        except LegalHoldActive as exc:
            raise TenantAPIError(409, "legal_hold", str(exc)) from None
        found = {r["run"]: r for r in selectors.transition_history(tenant.pk, limit=5)}
        return Response(TransitionRunSerializer(found[run.pk]).data, status=202)
