import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenancy.models import TenantScopedModel


class PasskeyCredential(TenantScopedModel):
    """A WebAuthn credential registered with user verification required (the seed's
    "biometric authentication"): the authenticator checked a fingerprint, face or PIN."""

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
    name = models.CharField(max_length=60, default="passkey")
    credential_id = models.BinaryField(max_length=1023)
    public_key = models.BinaryField()  # COSE, as the authenticator sent it
    sign_count = models.BigIntegerField(default=0)
    # What the authenticator reported at registration (the UV flag of its authenticator
    # data); registration refuses a response without it, so it is recorded as evidence.
    user_verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["created_at"]

    def __str__(self):
        return self.name
