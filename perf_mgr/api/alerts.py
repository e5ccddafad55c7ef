"""Alerting API under /api/v1/alerts/: rules (CRUD, and the seed's YAML at
`rules/import/`), channels (CRUD, admins), the alert states and the outbox (read-only).

A refused rule is a 400 whose error names the field and, for a condition, the line and
column: `{"error": {"code": "invalid_condition", "message": "...", "field":
"condition", "line": 1, "column": 31}}`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from perf_mgr.alerting import actions, outbox, rules
from perf_mgr.models.alerting import (
    AlertChannel,
    AlertNotification,
    AlertRule,
    AlertSilence,
    AlertState,
    AlertStatus,
    Severity,
)
from tenancy.api.base import TenantAPIMixin, TenantScopedModelSerializer, TenantScopedModelViewSet
from tenancy.api.errors import TenantAPIError
from tenancy.api.pagination import TenantPagination
from tenancy.models import Role


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}]})
class DurationField(serializers.Field):
    """`5m`, `30s` or seconds in; seconds (a number) out."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class RuleSerializer(serializers.Serializer):
    """The YAML's shape (`for`, `keep_firing_for` as 5m or seconds), validated by
    perf_mgr.alerting.rules; read back with durations in seconds and the rule's health.
    The declared fields describe it for the schema; reading and writing are below."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100)
    condition = serializers.CharField(help_text="e.g. session_creation_time_p95 > 100ms")
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.WARNING)
    keep_firing_for = DurationField(required=False, help_text="5m, 30s, or seconds")
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    annotations = serializers.DictField(child=serializers.CharField(), required=False)
    enabled = serializers.BooleanField(required=False)
    health = serializers.CharField(read_only=True)
    health_detail = serializers.CharField(read_only=True)
    last_evaluated_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, rule):
        return {
            "id": rule.pk,
            **actions.rule_as_data(rule),
            "enabled": rule.enabled,
            "health": rule.health,
            "health_detail": rule.health_detail,
            "last_evaluated_at": rule.last_evaluated_at,
            "updated_at": rule.updated_at,
        }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise rules.RuleError("invalid_rule", "The body is a rule object.", "rule")
        unknown = set(data) - {*actions.RULE_FIELDS, "enabled", "id"}
        if unknown:
            raise rules.RuleError(
                "unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.", "rule"
            )
        enabled = data.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise rules.RuleError("invalid_enabled", "enabled is true or false.", "enabled")
        fields = {k: v for k, v in data.items() if k in actions.RULE_FIELDS}
        return {"spec": actions.validated_rule(fields, self.instance), "enabled": enabled}

    def create(self, validated):
        return actions.do_save_rule(validated["spec"], enabled=validated["enabled"])

    def update(self, instance, validated):
        return actions.do_save_rule(validated["spec"], instance, enabled=validated["enabled"])


# `for` is a Python keyword: declared after the class.
RuleSerializer._declared_fields["for"] = DurationField(
    required=False, help_text="5m, 30s, or seconds: pending this long before firing"
)


def rule_error_response(exc: rules.RuleError) -> Response:
    return Response({"error": exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST)


class AlertRuleViewSet(TenantScopedModelViewSet):
    model = AlertRule
    queryset = AlertRule.objects.all()
    serializer_class = RuleSerializer
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    def handle_exception(self, exc):
        if isinstance(exc, rules.RuleError):
            return rule_error_response(exc)
        return super().handle_exception(exc)

    @action(detail=False, methods=["post"], url_path="import")
    def import_yaml(self, request, *args, **kwargs):
        """Body `{"yaml": "alerts:\\n  - name: ..."}`: creates or updates every rule."""
        text = request.data.get("yaml") if isinstance(request.data, dict) else None
        if not isinstance(text, str):
            raise TenantAPIError(400, "invalid", 'The body must be {"yaml": "<alert rules>"}.')
        saved = actions.do_import_rules(text)
        return Response({"rules": [RuleSerializer(r).data for r in saved]})


class ChannelSerializer(TenantScopedModelSerializer):
    # Stored sealed with the tenant's key (AlertChannel.secret opens it); shown to admins.
    secret = serializers.CharField(read_only=True)

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "kind", "target", "min_severity", "enabled", "secret", "created_at"]
        read_only_fields = ["id", "secret", "created_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        target = attrs.get("target", getattr(self.instance, "target", ""))
        try:
            attrs["target"] = actions.check_channel_target(kind, target)
        except ValueError as exc:
            raise serializers.ValidationError({"target": [str(exc)]}) from None
        return attrs


class AlertChannelViewSet(TenantScopedModelViewSet):
    """Notification channels; their secrets sign the webhooks, so admins only."""

    model = AlertChannel
    queryset = AlertChannel.objects.all()
    serializer_class = ChannelSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN


class StateSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.name", read_only=True)

    class Meta:
        model = AlertState
        fields = [
            "id", "rule", "fingerprint", "labels", "status", "value", "active_since",
            "last_true_at", "fired_at", "resolved_at", "incident", "last_evaluated_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlertStateViewSet(TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    """The alerts: one row per rule and label set; `?status=firing` filters."""

    model = AlertState
    serializer_class = StateSerializer
    pagination_class = TenantPagination
    read_role = Role.VIEWER

    def get_queryset(self):
        queryset = AlertState.objects.select_related("rule").order_by("-fired_at", "id")
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in AlertStatus.values:
                raise TenantAPIError(
                    400, "invalid_status", f"status: one of {', '.join(AlertStatus.values)}."
                )
            queryset = queryset.filter(status=wanted)
        return queryset


class NotificationSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = AlertNotification
        fields = [
            "id", "channel", "rule_name", "transition", "severity", "idempotency_key",
            "status", "attempts", "next_attempt_at", "last_error", "created_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlertNotificationViewSet(
    TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The outbox, newest first (admins)."""

    model = AlertNotification
    serializer_class = NotificationSerializer
    pagination_class = TenantPagination
    read_role = Role.ADMIN

    def get_queryset(self):
        return AlertNotification.objects.select_related("channel").order_by("-id")


class SilenceSerializer(TenantScopedModelSerializer):
    class Meta:
        model = AlertSilence
        fields = ["id", "matchers", "starts_at", "ends_at", "comment", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]

    def validate(self, attrs):
        from django.utils import timezone

        attrs = super().validate(attrs)
        current = {
            f: attrs.get(f, getattr(self.instance, f, None))
            for f in ("matchers", "starts_at", "ends_at")
        }
        try:
            actions.check_silence(**current, now=timezone.now())
        except ValueError as exc:
            field, reason = exc.args
            raise serializers.ValidationError({field: [reason]}) from None
        return attrs

    def create(self, validated):
        request = self.context.get("request")
        validated["created_by"] = getattr(getattr(request, "user", None), "username", "")
        return super().create(validated)


class AlertSilenceViewSet(TenantScopedModelViewSet):
    """Silences: `?active=true` lists the ones in force now."""

    model = AlertSilence
    queryset = AlertSilence.objects.all()
    serializer_class = SilenceSerializer
    read_role = Role.VIEWER
    write_role = Role.MEMBER

    def get_queryset(self):
        from django.utils import timezone

        queryset = super().get_queryset()
        if self.request.query_params.get("active") == "true":
            now = timezone.now()
            queryset = queryset.filter(starts_at__lte=now, ends_at__gt=now)
        return queryset


class RouteSerializer(serializers.Serializer):
    group_by = serializers.ListField(child=serializers.CharField(), required=False)
    group_wait = DurationField(required=False, help_text="30s, 5m or seconds")
    group_interval = DurationField(required=False)
    repeat_interval = DurationField(required=False)
    configured = serializers.BooleanField(read_only=True)


def _route_data(route) -> dict:
    return {
        "group_by": route.group_by,
        "group_wait": route.group_wait_s,
        "group_interval": route.group_interval_s,
        "repeat_interval": route.repeat_interval_s,
        "configured": route.pk is not None,
    }


class AlertRouteView(TenantAPIMixin, APIView):
    """The tenant's grouping of notifications (GET: its route, or the defaults;
    PUT: admins)."""

    read_role = Role.VIEWER
    write_role = Role.ADMIN

    @extend_schema(responses=RouteSerializer)
    def get(self, request, *args, **kwargs):
        return Response(_route_data(outbox.route()))

    @extend_schema(request=RouteSerializer, responses=RouteSerializer)
    def put(self, request, *args, **kwargs):
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise TenantAPIError(400, "invalid", "The body is a route object.")
        current = outbox.route()
        try:
            values = {
                name: rules.parse_duration(data[name], name)
                if name in data
                else getattr(current, f"{name}_s")
                for name in ("group_wait", "group_interval", "repeat_interval")
            }
        except rules.RuleError as exc:
            return rule_error_response(exc)
        group_by = data.get("group_by", current.group_by)
        try:
            actions.check_route(group_by, *values.values())
        except ValueError as exc:
            field, reason = exc.args
            raise serializers.ValidationError({field: [reason]}) from None
        route = actions.do_save_route(group_by, *values.values())
        return Response(_route_data(route))
