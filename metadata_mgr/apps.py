from django.apps import AppConfig


class MetadataConfig(AppConfig):
    name = "metadata_mgr"
    label = "metadata_mgr"
    verbose_name = "Metadata"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # imports: registers the bulk import's job kind with jobs_mgr.
        from metadata_mgr import console_nav, imports, providers  # noqa: F401

        console_nav.register()
        providers.register()  # what other apps may ask of metadata (tenancy/hooks.py)
