"""What search holds of each record: its searchable text and its embedding.

The database is the source of truth for vectors: the in-process ANN indexes
(metadata_mgr/search/ann.py) are rebuilt from these rows and caught up from them by
`updated_at`. A record that must not be indexed (deleted, sensitive) keeps a tombstone
row (`active=False`, no text, no vector), so every process's index learns that it left.
Keyword search reads `text`: PostgreSQL through a GIN index on its tsvector, SQLite
through the FTS5 table `metadata_search_fts` (both made by migration 0003).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class SearchDocument(TenantScopedModel):
    # Not a foreign key (as RecordVersion): read only through the scoped manager, and
    # results are always re-checked against the records themselves.
    record_id = models.UUIDField(verbose_name=_("record"))
    text = models.TextField(blank=True, default="", verbose_name=_("searchable text"))
    embedding = models.BinaryField(null=True, blank=True, verbose_name=_("embedding"))
    encoder = models.CharField(max_length=80, blank=True, default="", verbose_name=_("encoder"))
    version_seq = models.PositiveIntegerField(default=0, verbose_name=_("version number"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "record_id"], name="uniq_search_doc_record")
        ]
        indexes = [
            models.Index(fields=["tenant", "updated_at"], name="search_doc_updated_idx"),
        ]

    def __str__(self):
        return str(self.record_id)

    @classmethod
    def conformance_values(cls) -> dict:
        import uuid

        return {"record_id": uuid.UUID(int=7), "text": "conformance"}
