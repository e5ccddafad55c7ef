from django.db import models

from tenancy.models import TenantScopedModel


class WrapAlgorithm(models.TextChoices):
    CLASSICAL = "kek-aes256gcm", "AES-256-GCM under the master KEK"
    HYBRID = "x25519-mlkem768", "Hybrid X25519 + ML-KEM-768"


class KeyState(models.TextChoices):
    ACTIVE = "active", "Active"
    TRIMMED = "trimmed", "Trimmed"
    SHREDDED = "shredded", "Shredded"


class KeyRing(TenantScopedModel):
    """One named ring of versioned data keys in a tenant. `subject` is "" for the
    tenant's own ring, or e.g. "user:42" for a key that can be shredded alone."""

    subject = models.CharField(max_length=120, blank=True, default="")
    current_version = models.PositiveIntegerField(default=0)
    min_decryption_version = models.PositiveIntegerField(default=1)
    # Versions below this one were trimmed (their key material is gone).
    min_available_version = models.PositiveIntegerField(default=1)
    rotation_period_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    shredded_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "subject"], name="uniq_keyring_subject")
        ]
        ordering = ["subject"]

    def __str__(self):
        return self.subject or "(tenant)"

    @classmethod
    def conformance_values(cls):
        # Every tenant has its own ring (subject "") from its creation on.
        return {"subject": "conformance"}


class DataKey(TenantScopedModel):
    """One version of a ring's data key, stored only wrapped (never in the clear)."""

    ring = models.ForeignKey(KeyRing, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField()
    algorithm = models.CharField(max_length=20, choices=WrapAlgorithm.choices)
    kek_id = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=KeyState.choices, default=KeyState.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ring", "version"], name="uniq_datakey_ver")
        ]
        ordering = ["ring", "version"]

    def __str__(self):
        return f"{self.ring} v{self.version}"
