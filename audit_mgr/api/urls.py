"""The audit API's routes, included under `security/` (config/urls.py): the paths and
names are those of the time the log lived in security_mgr."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from audit_mgr.api import views

router = SimpleRouter()
router.register("audit/entries", views.AuditEntryViewSet, basename="security-audit-entry")
router.register("audit/heads", views.TreeHeadViewSet, basename="security-tree-head")

urlpatterns = [
    path("audit/proofs/inclusion/", views.InclusionProofView.as_view(), name="security-inclusion"),
    path(
        "audit/proofs/consistency/",
        views.ConsistencyProofView.as_view(),
        name="security-consistency",
    ),
    path("audit/verify/", views.VerifyAuditView.as_view(), name="security-verify"),
    *router.urls,
]
