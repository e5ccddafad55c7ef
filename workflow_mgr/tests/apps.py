from django.apps import AppConfig


class FlowsConfig(AppConfig):
    """Loads the test workflows in a worker subprocess (DIM_EXTRA_APPS)."""

    name = "workflow_mgr.tests"
    label = "workflow_test_flows"

    def ready(self):
        from workflow_mgr.tests import flows  # noqa: F401
