from django.urls import path

from ai_mgr.api import views

M = "ai/models/<str:name>"
urlpatterns = [
    path("ai/models/", views.ModelListView.as_view(), name="ai-models"),
    path(f"{M}/", views.ModelDetailView.as_view(), name="ai-model"),
    path(f"{M}/versions/", views.VersionListView.as_view(), name="ai-versions"),
    path(f"{M}/versions/<int:number>/", views.VersionDetailView.as_view(), name="ai-version"),
    path(f"{M}/history/", views.HistoryView.as_view(), name="ai-history"),
    path(f"{M}/promote/", views.PromoteView.as_view(), name="ai-promote"),
    path(f"{M}/rollback/", views.RollbackView.as_view(), name="ai-rollback"),
    path(f"{M}/served-at/", views.ServedAtView.as_view(), name="ai-served-at"),
    path("ai/train/", views.TrainView.as_view(), name="ai-train"),
    path("ai/predict/", views.PredictView.as_view(), name="ai-predict"),
]
