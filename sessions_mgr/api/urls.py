from django.urls import path

from sessions_mgr.api import views

SID = "<str:session_id>"

urlpatterns = [
    path("sessions/", views.SessionListCreateView.as_view(), name="sessions"),
    path("sessions/revoke-all/", views.SessionRevokeAllView.as_view(), name="sessions-revoke-all"),
    path("sessions/rotate-key/", views.RotateSessionKeyView.as_view(), name="sessions-rotate-key"),
    path("sessions/health/", views.SessionViewHealthView.as_view(), name="sessions-health"),
    path(f"sessions/{SID}/", views.SessionDetailView.as_view(), name="session-detail"),
    path(f"sessions/{SID}/validate/", views.SessionValidateView.as_view(), name="session-validate"),
    path(f"sessions/{SID}/refresh/", views.SessionRefreshView.as_view(), name="session-refresh"),
    path(f"sessions/{SID}/revoke/", views.SessionRevokeView.as_view(), name="session-revoke"),
    path(f"sessions/{SID}/step-up/", views.SessionStepUpView.as_view(), name="session-step-up"),
    # Also without the slash (a POST cannot be redirected to it).
    path(f"sessions/{SID}/step-up", views.SessionStepUpAliasView.as_view()),
    path(
        f"sessions/{SID}/analytics/", views.SessionAnalyticsView.as_view(), name="session-analytics"
    ),
    path(
        "tenants/<slug:slug>/session-keys/",
        views.TenantPublicKeysView.as_view(),
        name="tenant-session-keys",
    ),
]

# The seed's paths, served at the site root as documented aliases; also with a trailing
# slash (a POST cannot be redirected to it), left out of the schema (`schema=None`).
seed_aliases = [
    path("sessions/create", views.SessionListCreateView.as_view(http_method_names=["post"])),
    path(f"sessions/{SID}/validate", views.SessionValidateView.as_view()),
    path(f"sessions/{SID}/analytics", views.SessionAnalyticsView.as_view()),
    path(
        "sessions/create/",
        views.SessionListCreateView.as_view(http_method_names=["post"], schema=None),
    ),
    path(f"sessions/{SID}/validate/", views.SessionValidateView.as_view(schema=None)),
    path(f"sessions/{SID}/analytics/", views.SessionAnalyticsView.as_view(schema=None)),
]
