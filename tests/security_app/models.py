"""A scoped model with encrypted fields, installed only in tests: the encrypted-field
tests and the isolation conformance suite use it."""

import uuid

from django.db import models

from security_mgr.fields import EncryptedJSONField, EncryptedTextField
from tenancy.models import TenantScopedModel


class SecretNote(TenantScopedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.CharField(max_length=50, default="anyone")
    body = EncryptedTextField()
    extra = EncryptedJSONField(null=True, blank=True)
    private = EncryptedTextField(null=True, blank=True, subject_field="owner")

    class Meta(TenantScopedModel.Meta):
        ordering = ["owner"]

    def __str__(self):
        return f"note of {self.owner}"
