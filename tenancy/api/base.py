"""DRF base classes: every API view resolves its tenant right after authentication and
runs inside that tenant's context; the context is always dropped when the view ends."""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, viewsets
from rest_framework.views import APIView

from tenancy import context, quotas
from tenancy.resolution import (
    effective_role,
    memberships_of,
    requested_slug,
    resolve,
    resolve_bound,
)


class TenantAPIMixin:
    """Mix into any APIView. `tenant_required = False` for views that also serve users
    outside a tenant (e.g. `/me/`); such a view with `single_tenant_default = True` still
    acts in the tenant of a user who belongs to exactly one (active) tenant, the tenant
    every other endpoint would choose for them."""

    tenant_required = True
    single_tenant_default = False
    # A body field that may name the tenant (id or slug, tenancy/api/references.py) when
    # neither a token nor X-Tenant does: the seed's `{"tenant_id": ...}`.
    body_tenant_field: str | None = None

    def perform_authentication(self, request):
        super().perform_authentication(request)
        request.tenant = None
        request.membership = None
        request.tenant_role = None
        user = request.user
        if not (user and user.is_authenticated):
            return
        # A credential bound to one tenant (a session token) decides the tenant itself.
        bound_tenant_id = getattr(request.auth, "tenant_id", None)
        if bound_tenant_id is not None:
            resolution = resolve_bound(
                user, bound_tenant_id, getattr(request.auth, "memberships", None)
            )
        else:
            slug = requested_slug(request)
            if slug is None and self.body_tenant_field:
                slug = self._body_tenant_slug(request)
            if slug is None and not self.tenant_required:
                slug = self._only_tenant_slug(user)
                if slug is None:
                    return
            resolution = resolve(user, slug)
        request.tenant = resolution.tenant
        request.membership = resolution.membership
        request.tenant_role = effective_role(resolution, user)
        # Also visible to Django's request (middleware, logging).
        request._request.tenant = resolution.tenant
        self._tenant_token = context.activate(
            context.TenantRef(
                resolution.tenant.pk, resolution.tenant.slug, resolution.tenant.cache_generation
            )
        )
        # The tier's API rate, counted once the tenant is known (tenancy/quotas.py).
        quotas.enforce("api_requests_per_minute", tenant_id=resolution.tenant.pk)

    def _body_tenant_slug(self, request) -> str | None:
        from tenancy.api import references

        data = request.data
        if not isinstance(data, dict) or data.get(self.body_tenant_field) is None:
            return None
        slug = references.slug_for(request.user, data[self.body_tenant_field])
        if slug is None:
            raise references.not_accessible()
        return slug

    def _only_tenant_slug(self, user) -> str | None:
        if not self.single_tenant_default:
            return None
        memberships = memberships_of(user)
        if len(memberships) == 1 and memberships[0].tenant.is_active:
            return memberships[0].tenant.slug
        return None

    def dispatch(self, request, *args, **kwargs):
        self._tenant_token = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._tenant_token is not None:
                context.deactivate(self._tenant_token)
                self._tenant_token = None


class TenantAPIView(TenantAPIMixin, APIView):
    pass


class TenantScopedModelSerializer(serializers.ModelSerializer):
    """Runs the model's own unique and constraint checks (tenant-qualified) so that a
    duplicate is a 400 naming the field, not an IntegrityError."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        candidate = copy.copy(self.instance) if self.instance else self.Meta.model()
        for name, value in attrs.items():
            field = candidate._meta.get_field(name)
            if not (field.many_to_many or field.one_to_many):
                setattr(candidate, name, value)
        try:
            candidate.validate_unique()
            candidate.validate_constraints()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        return attrs


class TenantScopedModelViewSet(TenantAPIMixin, viewsets.ModelViewSet):
    """CRUD over a TenantScopedModel. The queryset is scoped by the model's manager, so
    another tenant's id is simply not found: the 404 is identical to a random id's."""

    model = None
    read_role = "viewer"
    write_role = "member"

    def get_queryset(self):
        queryset = self.model.objects.all()
        # Stable pages: a model without Meta.ordering is paged by primary key.
        return queryset if queryset.ordered else queryset.order_by("pk")
