"""Installed only by `make cluster-test` (DIM_EXTRA_APPS=tests.cluster_app, with
tests.scoping_app for the saga's effects): a probe of the tenant cache, so the cluster
test can watch an invalidation reach each web process; a slow view, for a web process's
graceful shutdown; a three-step saga and a view of its effects (scripts/cluster_test.py)."""

from django.apps import AppConfig


class ClusterAppConfig(AppConfig):
    name = "tests.cluster_app"
    label = "cluster_app"

    def ready(self):
        from tests.cluster_app import flows  # noqa: F401  (registers the saga)
