"""Scoped models with relations, installed only in tests (config/settings_test.py)."""

from django.conf import settings
from django.db import models

from tenancy.models import TenantScopedModel


class Folder(TenantScopedModel):
    name = models.CharField(max_length=100)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_folder_name")]

    def __str__(self):
        return self.name


class Document(TenantScopedModel):
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=100)
    size = models.IntegerField(default=0)

    class Meta(TenantScopedModel.Meta):
        indexes = [models.Index(fields=["tenant", "title"], name="doc_tenant_title")]

    def __str__(self):
        return self.title


class Bookmark(models.Model):
    """Unscoped, pointing into a scoped model: its forward FK must still fail closed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    document = models.ForeignKey(Document, on_delete=models.DO_NOTHING, db_constraint=False)
