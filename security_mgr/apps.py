from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security_mgr"
    label = "security_mgr"
    verbose_name = "Security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # They register themselves (checks, schema extensions, the rewrap job kind).
        from security_mgr import checks, providers, rewrap, schema, signals  # noqa: F401

        signals.connect()
        from security_mgr import console_nav

        console_nav.register()
        providers.register()  # what other apps ask of security (tenancy/hooks.py)
