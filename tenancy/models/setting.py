from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.models.scoped import TenantScopedModel

setting_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_.]{0,99}$",
    _("A setting key is lowercase letters, digits, '_' and '.', starting with a letter."),
)


class TenantSetting(TenantScopedModel):
    """Per-tenant configuration that later managers read (e.g. `session.policy`)."""

    key = models.CharField(
        max_length=100, validators=[setting_key_validator], verbose_name=_("key")
    )
    value = models.JSONField(default=dict, blank=True, verbose_name=_("value"))
    description = models.CharField(max_length=300, blank=True, verbose_name=_("description"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("tenant setting")
        verbose_name_plural = _("tenant settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="uniq_tenantsetting_key")
        ]
        ordering = ["key"]

    def __str__(self):
        return self.key
