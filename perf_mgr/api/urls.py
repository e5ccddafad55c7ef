from django.urls import path
from rest_framework.routers import SimpleRouter

from perf_mgr.api import alerts, insights, views

alerts_router = SimpleRouter()
alerts_router.register("alerts/rules", alerts.AlertRuleViewSet, basename="alert-rule")
alerts_router.register("alerts/channels", alerts.AlertChannelViewSet, basename="alert-channel")
alerts_router.register(
    "alerts/notifications", alerts.AlertNotificationViewSet, basename="alert-notification"
)
alerts_router.register("alerts/silences", alerts.AlertSilenceViewSet, basename="alert-silence")
alerts_router.register("alerts", alerts.AlertStateViewSet, basename="alert")
alerts_router.register(
    "performance/recommendations",
    insights.RecommendationViewSet,
    basename="performance-recommendation",
)
alerts_router.register(
    "performance/anomalies", insights.AnomalyViewSet, basename="performance-anomaly"
)

urlpatterns = [
    path("metrics/", views.MetricsView.as_view(), name="metrics"),
    path(
        "performance/current/", views.PerformanceCurrentView.as_view(), name="performance-current"
    ),
    path(
        "performance/analytics/",
        views.PerformanceAnalyticsView.as_view(),
        name="performance-analytics",
    ),
    path(
        "performance/optimize/",
        insights.PerformanceOptimizeView.as_view(),
        name="performance-optimize",
    ),
    path("performance/forecast/", insights.ForecastView.as_view(), name="performance-forecast"),
    path("alerts/route/", alerts.AlertRouteView.as_view(), name="alert-route"),
    *alerts_router.urls,
]

# The seed's paths at the site root (config/urls.py), also with a trailing slash (a POST
# cannot be redirected to it), the slashed ones left out of the schema.
seed_aliases = [
    path("performance/current", views.PerformanceCurrentView.as_view()),
    path("performance/analytics", views.PerformanceAnalyticsView.as_view()),
    path("performance/optimize", insights.PerformanceOptimizeView.as_view()),
    path("performance/current/", views.PerformanceCurrentView.as_view(schema=None)),
    path("performance/analytics/", views.PerformanceAnalyticsView.as_view(schema=None)),
    path("performance/optimize/", insights.PerformanceOptimizeView.as_view(schema=None)),
]
