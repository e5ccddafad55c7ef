from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class WrapAlgorithm(models.TextChoices):
    CLASSICAL = "kek-aes256gcm", _("AES-256-GCM under the master KEK")
    HYBRID = "x25519-mlkem768", _("Hybrid X25519 + ML-KEM-768")


class KeyState(models.TextChoices):
    ACTIVE = "active", _("Active")
    TRIMMED = "trimmed", _("Trimmed")
    SHREDDED = "shredded", _("Shredded")


class KeyRing(TenantScopedModel):
    """One named ring of versioned data keys in a tenant. `subject` is "" for the
    tenant's own ring, or e.g. "user:42" for a key that can be shredded alone."""

    subject = models.CharField(max_length=120, blank=True, default="", verbose_name=_("subject"))
    current_version = models.PositiveIntegerField(default=0, verbose_name=_("current version"))
    min_decryption_version = models.PositiveIntegerField(
        default=1, verbose_name=_("minimum decryption version")
    )
    # Versions below this one were trimmed (their key material is gone).
    min_available_version = models.PositiveIntegerField(
        default=1, verbose_name=_("minimum available version")
    )
    rotation_period_days = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("rotation period (days)")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    rotated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("rotated at"))
    shredded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("shredded at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("key ring")
        verbose_name_plural = _("key rings")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "subject"], name="uniq_keyring_subject")
        ]
        ordering = ["subject"]

    def __str__(self):
        return self.subject or str(_("(tenant)"))

    @classmethod
    def conformance_values(cls):
        # Every tenant has its own ring (subject "") from its creation on.
        return {"subject": "conformance"}


class DataKey(TenantScopedModel):
    """One version of a ring's data key, stored only wrapped (never in the clear)."""

    ring = models.ForeignKey(
        KeyRing, on_delete=models.CASCADE, related_name="versions", verbose_name=_("ring")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"))
    wrapped_key = models.BinaryField(verbose_name=_("wrapped key"))
    algorithm = models.CharField(
        max_length=20, choices=WrapAlgorithm.choices, verbose_name=_("algorithm")
    )
    kek_id = models.CharField(max_length=40, verbose_name=_("KEK id"))
    state = models.CharField(
        max_length=10, choices=KeyState.choices, default=KeyState.ACTIVE, verbose_name=_("state")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("data key")
        verbose_name_plural = _("data keys")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ring", "version"], name="uniq_datakey_ver")
        ]
        ordering = ["ring", "version"]

    def __str__(self):
        return f"{self.ring} v{self.version}"
