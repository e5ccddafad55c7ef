from rest_framework.routers import SimpleRouter

from workflow_mgr.api import views

router = SimpleRouter()
router.register("workflows", views.WorkflowRunViewSet, basename="workflow")

urlpatterns = router.urls
