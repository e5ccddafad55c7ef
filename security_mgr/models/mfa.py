import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from security_mgr.fields import EncryptedTextField
from tenancy.models import TenantScopedModel


class TOTPDevice(TenantScopedModel):
    """An authenticator app. The seed is encrypted with the tenant's key ring (and so
    shredded with it); `last_step` is the replay guard: a code is accepted once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database constraint: users are platform rows of the default database, and a
    # dedicated tenant's database holds none (a constraint across databases cannot be
    # enforced). CASCADE is emulated by Django on the default database; in dedicated
    # ones by security_mgr.actions.do_delete_mfa_of_user (a user deletion's hook).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    name = models.CharField(max_length=60, default="authenticator")
    secret = EncryptedTextField()
    confirmed = models.BooleanField(default=False)
    last_step = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        ordering = ["created_at"]

    def __str__(self):
        return self.name


class BackupCode(TenantScopedModel):
    """A one-time recovery code, stored only as a keyed hash (HMAC-SHA-256 under a key
    derived from the master key): the codes are random, so no slow hash is needed."""

    # No database constraint: users are platform rows of the default database, and a
    # dedicated tenant's database holds none (a constraint across databases cannot be
    # enforced). CASCADE is emulated by Django on the default database; in dedicated
    # ones by security_mgr.actions.do_delete_mfa_of_user (a user deletion's hook).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code_hash"], name="uniq_backup_code")
        ]

    def __str__(self):
        return f"backup code of {self.user_id}"
