from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CacheMgrConfig(AppConfig):
    name = "cache_mgr"
    verbose_name = _("Cache")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cache_mgr import console_nav

        console_nav.register()
