"""Insights API under /api/v1/performance/ (issue 15, items 4-6), the tenant's only:

- `POST optimize/` (and the seed's `POST /performance/optimize`): `{"strategy":
  "conservative|balanced|aggressive|adaptive", "apply": true}`; admins.
- `GET recommendations/` (`?status=`), `GET recommendations/{id}/`, `POST
  recommendations/{id}/apply/` and `POST recommendations/{id}/rollback/` (admins): a
  refused apply or rollback is a 409 with its reason (advice only, the setting is off,
  not in the right state).
- `GET anomalies/` (`?metric=`, `?since=`), `GET anomalies/{id}/`.
- `GET forecast/?metric=&stat=avg|rate&history_hours=&horizon=&method=`.

Another tenant's id is a 404 exactly like a missing one (the scoped manager)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ai_mgr import advice, forecasting
from perf_mgr import forecasts, optimize
from perf_mgr.api import params
from perf_mgr.models import MetricAnomaly, Recommendation, RecommendationStatus
from perf_mgr.validation import NAME_RE
from tenancy.api.base import TenantAPIMixin, TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.api.pagination import TenantPagination
from tenancy.models import Role


def _actor(request) -> str:
    return f"user:{request.user.pk}"


class OptimizeRequestSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=advice.STRATEGIES, default="adaptive")
    apply = serializers.BooleanField(
        default=True,
        help_text="Apply the safe recommendations when the strategy and the settings allow.",
    )


class RecommendationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    target = serializers.CharField()
    strategy = serializers.CharField()
    status = serializers.ChoiceField(choices=RecommendationStatus.choices)
    current_value = serializers.JSONField(allow_null=True)
    proposed_value = serializers.JSONField(allow_null=True)
    reasoning = serializers.CharField()
    expected_effect = serializers.CharField()
    auto_applicable = serializers.BooleanField()
    advice_only_reason = serializers.CharField()
    watched_metric = serializers.CharField()
    evidence = serializers.DictField()
    previous_value = serializers.JSONField(allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)
    applied_by = serializers.CharField()
    rolled_back_at = serializers.DateTimeField(allow_null=True)
    rollback_reason = serializers.CharField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return super().to_representation(optimize.recommendation_as_data(instance))


class OptimizeResponseSerializer(serializers.Serializer):
    status = serializers.CharField()
    strategy = serializers.CharField()
    strategy_used = serializers.CharField()
    reason = serializers.CharField()
    recommendations = serializers.ListField(child=serializers.DictField())
    applied = serializers.ListField(child=serializers.IntegerField())
    auto_apply = serializers.DictField()


class PerformanceOptimizeView(TenantAPIView):
    write_role = Role.ADMIN

    @extend_schema(
        request=OptimizeRequestSerializer,
        responses=OptimizeResponseSerializer,
    )
    def post(self, request, *args, **kwargs):
        body = OptimizeRequestSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        try:
            result = optimize.optimize_performance(
                body.validated_data["strategy"],
                actor=_actor(request),
                auto_apply=body.validated_data["apply"],
            )
        except advice.StrategyError as exc:
            raise TenantAPIError(400, exc.code, exc.message) from None
        return Response(result)


def _refused(exc: optimize.OptimizeError):
    return TenantAPIError(exc.status, exc.code, exc.message)


class RecommendationViewSet(TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RecommendationSerializer
    pagination_class = TenantPagination
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    def get_queryset(self):
        queryset = Recommendation.objects.order_by("-created_at", "-id")
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in RecommendationStatus.values:
                raise TenantAPIError(
                    400,
                    "invalid_status",
                    f"status: one of {', '.join(RecommendationStatus.values)}.",
                )
            queryset = queryset.filter(status=wanted)
        return queryset

    @extend_schema(
        request=None,
        responses=RecommendationSerializer,
        description="409 when it is advice only, not allowed by the settings, or not proposed.",
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        rec = self.get_object()
        try:
            rec = optimize.do_apply_recommendation(rec.pk, actor=_actor(request))
        except optimize.OptimizeError as exc:
            raise _refused(exc) from None
        return Response(RecommendationSerializer(rec).data)

    @extend_schema(
        request=None,
        responses=RecommendationSerializer,
        description="Restores the replaced value; 409 when it is not applied.",
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        rec = self.get_object()
        try:
            rec = optimize.do_rollback_recommendation(rec.pk, actor=_actor(request))
        except optimize.OptimizeError as exc:
            raise _refused(exc) from None
        return Response(RecommendationSerializer(rec).data)


class AnomalySerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricAnomaly
        fields = [
            "id",
            "metric",
            "method",
            "observed_at",
            "observed",
            "expected",
            "lower",
            "upper",
            "score",
            "drivers",
            "evidence",
            "detected_at",
        ]
        read_only_fields = fields


class AnomalyViewSet(TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AnomalySerializer
    pagination_class = TenantPagination
    read_role = Role.VIEWER

    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, description="Only this metric's anomalies."),
            OpenApiParameter("since", str, description="ISO 8601 or epoch seconds."),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        from perf_mgr.models import from_us

        queryset = MetricAnomaly.objects.order_by("-observed_at", "-id")
        metric = self.request.query_params.get("metric")
        if metric is not None:
            queryset = queryset.filter(metric=metric)
        since = params.instant(self.request.query_params.get("since"), "since")
        if since is not None:
            queryset = queryset.filter(observed_at__gte=from_us(since))
        return queryset


def _int_param(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise TenantAPIError(400, f"invalid_{name}", f"{name} must be an integer {low} to {high}.")
    return int(raw)


class ForecastResponseSerializer(serializers.Serializer):
    metric = serializers.CharField()
    stat = serializers.CharField()
    history = serializers.ListField(child=serializers.DictField())
    forecast = serializers.DictField(help_text="method, step_seconds, alpha, points")
    backtest = serializers.DictField(help_text="mape, accuracy, target, meets_target")


class ForecastView(TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "metric",
                {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]{0,99}$"},
                required=True,
            ),
            OpenApiParameter("stat", {"type": "string", "enum": list(forecasts.STATS)}),
            OpenApiParameter("method", {"type": "string", "enum": list(forecasting.METHODS)}),
            OpenApiParameter(
                "history_hours",
                {"type": "integer", "minimum": 24, "maximum": forecasts.MAX_HISTORY_HOURS},
            ),
            OpenApiParameter(
                "horizon", {"type": "integer", "minimum": 1, "maximum": forecasting.MAX_HORIZON}
            ),
        ],
        responses=ForecastResponseSerializer,
    )
    def get(self, request, *args, **kwargs):
        metric = request.query_params.get("metric") or ""
        if not NAME_RE.fullmatch(metric):
            raise TenantAPIError(400, "invalid_metric", "metric must be a metric name.")
        try:
            return Response(
                forecasts.metric_forecast(
                    metric,
                    stat=request.query_params.get("stat") or "avg",
                    method=request.query_params.get("method") or "auto",
                    history_hours=_int_param(
                        request, "history_hours", 24 * 14, 24, forecasts.MAX_HISTORY_HOURS
                    ),
                    horizon=_int_param(request, "horizon", 24, 1, forecasting.MAX_HORIZON),
                )
            )
        except forecasting.ForecastError as exc:
            raise TenantAPIError(400, exc.code, exc.message) from None
