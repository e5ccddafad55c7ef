from django.apps import AppConfig


class SecurityAppConfig(AppConfig):
    name = "tests.security_app"
    label = "security_app"
    default_auto_field = "django.db.models.BigAutoField"
