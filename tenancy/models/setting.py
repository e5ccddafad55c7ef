from django.core.validators import RegexValidator
from django.db import models

from tenancy.models.scoped import TenantScopedModel

setting_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_.]{0,99}$",
    "A setting key is lowercase letters, digits, '_' and '.', starting with a letter.",
)


class TenantSetting(TenantScopedModel):
    """Per-tenant configuration that later managers read (e.g. `session.policy`)."""

    key = models.CharField(max_length=100, validators=[setting_key_validator])
    value = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="uniq_tenantsetting_key")
        ]
        ordering = ["key"]

    def __str__(self):
        return self.key
