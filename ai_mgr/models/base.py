"""Fields shared by the tenant's and the platform's registry tables (abstract)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModelFields(models.Model):
    name = models.SlugField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(max_length=60, verbose_name=_("kind"))
    description = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("description")
    )
    # Where retraining reads its data (ai_mgr.sources), "" for inline data only.
    source = models.CharField(max_length=60, blank=True, default="", verbose_name=_("source"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        abstract = True

    def __str__(self):
        return self.name


class VersionFields(models.Model):
    """Lineage of one trained version: what it was trained on, how, by whom, how well."""

    number = models.PositiveIntegerField(verbose_name=_("version"))
    algorithm = models.CharField(max_length=40, verbose_name=_("algorithm"))
    params = models.JSONField(default=dict, blank=True, verbose_name=_("parameters"))
    features = models.JSONField(default=list, blank=True, verbose_name=_("features"))
    data_from = models.DateTimeField(null=True, blank=True, verbose_name=_("data from"))
    data_to = models.DateTimeField(null=True, blank=True, verbose_name=_("data to"))
    data_rows = models.PositiveIntegerField(default=0, verbose_name=_("rows"))
    # sha256 of the training matrix's bytes: the same data gives the same fingerprint.
    data_fingerprint = models.CharField(
        max_length=64, blank=True, default="", verbose_name=_("data fingerprint")
    )
    metrics = models.JSONField(default=dict, blank=True, verbose_name=_("holdout metrics"))
    # Per-feature histogram of the training data, the reference of the drift check.
    reference = models.JSONField(default=dict, blank=True, verbose_name=_("reference"))
    code_version = models.CharField(
        max_length=60, blank=True, default="", verbose_name=_("code version")
    )
    trained_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("trained by")
    )
    trained_at = models.DateTimeField(default=timezone.now, verbose_name=_("trained at"))
    # The artifact: where the storage keeps it, its sha256, and its HMAC under the
    # owner's derived key (ai_mgr.artifacts). Inline bytes for the database storage.
    storage = models.CharField(max_length=20, default="db", verbose_name=_("storage"))
    artifact_ref = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("artifact reference")
    )
    artifact = models.BinaryField(null=True, blank=True, verbose_name=_("artifact"))
    checksum = models.CharField(max_length=64, verbose_name=_("checksum"))
    signature = models.CharField(max_length=64, verbose_name=_("signature"))
    size = models.PositiveIntegerField(default=0, verbose_name=_("size"))

    class Meta:
        abstract = True

    def __str__(self):
        return f"v{self.number}"


class AliasFields(models.Model):
    name = models.SlugField(max_length=40, verbose_name=_("alias"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    updated_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("updated by")
    )

    class Meta:
        abstract = True

    def __str__(self):
        return self.name
