from django.apps import AppConfig


class ClusterAppConfig(AppConfig):
    name = "tests.cluster_app"
    label = "cluster_app"
