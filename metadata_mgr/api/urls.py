from django.urls import path

from metadata_mgr.api import views_imports as imports
from metadata_mgr.api import views_records as records
from metadata_mgr.api import views_registry as registry
from metadata_mgr.api import views_search as search

RID = "<uuid:record_id>"
SUBJECT = "<str:name>"

urlpatterns = [
    path("records/", records.RecordListCreateView.as_view(), name="metadata-records"),
    path(f"records/{RID}/", records.RecordDetailView.as_view(), name="metadata-record"),
    path(f"records/{RID}/restore/", records.RecordRestoreView.as_view(), name="metadata-restore"),
    path(
        f"records/{RID}/versions/", records.RecordVersionsView.as_view(), name="metadata-versions"
    ),
    path(
        f"records/{RID}/versions/<str:ref>/",
        records.RecordVersionDetailView.as_view(),
        name="metadata-version",
    ),
    path(f"records/{RID}/diff/", records.RecordDiffView.as_view(), name="metadata-diff"),
    path(
        f"records/{RID}/rollback/", records.RecordRollbackView.as_view(), name="metadata-rollback"
    ),
    path("subjects/", registry.SubjectListCreateView.as_view(), name="metadata-subjects"),
    path(f"subjects/{SUBJECT}/", registry.SubjectDetailView.as_view(), name="metadata-subject"),
    path(
        f"subjects/{SUBJECT}/versions/",
        registry.SubjectVersionsView.as_view(),
        name="metadata-subject-versions",
    ),
    path(
        f"subjects/{SUBJECT}/versions/<str:ref>/",
        registry.SubjectVersionDetailView.as_view(),
        name="metadata-subject-version",
    ),
    path(
        f"subjects/{SUBJECT}/compatibility/",
        registry.CompatibilityView.as_view(),
        name="metadata-compatibility",
    ),
    path(
        f"subjects/{SUBJECT}/config/",
        registry.SubjectConfigView.as_view(),
        name="metadata-subject-config",
    ),
    path(f"subjects/{SUBJECT}/evolve/", registry.EvolveView.as_view(), name="metadata-evolve"),
    path("search/", search.SearchView.as_view(), name="metadata-search"),
    path("config/", registry.TenantConfigView.as_view(), name="metadata-config"),
    path("imports/", imports.ImportCreateView.as_view(), name="metadata-imports"),
    path("imports/<uuid:import_id>/", imports.ImportDetailView.as_view(), name="metadata-import"),
    path(
        "imports/<uuid:import_id>/rejections/",
        imports.ImportRejectionsView.as_view(),
        name="metadata-import-rejections",
    ),
]

# The seed's paths, served at the site root (config/urls.py); also with a trailing slash
# (a POST cannot be redirected to it), left out of the schema.
seed_aliases = [
    path("metadata/create", records.RecordListCreateView.as_view(http_method_names=["post"])),
    path(
        "metadata/create/",
        records.RecordListCreateView.as_view(http_method_names=["post"], schema=None),
    ),
    path("metadata/search", search.SearchView.as_view()),
    path("metadata/search/", search.SearchView.as_view(schema=None)),
]
