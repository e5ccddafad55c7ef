from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security_mgr"
    label = "security_mgr"
    verbose_name = "Security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from security_mgr import checks, schema, signals  # noqa: F401  (they register themselves)

        signals.connect()
