"""Metadata records, their versions, and the outbox that tells search what changed.

Content is stored encoded (`metadata_mgr.codec`): canonical JSON, compressed with zstd
above a size threshold, and sealed with the tenant's key when the record is sensitive.
`codec` says which of those a row's `body` went through, so every row decodes on its
own (a record made sensitive later re-encodes every version in the same transaction).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class MetadataType(models.TextChoices):
    """The seed's `metadata_type` values (`schema|business|technical`); its Python
    examples use `MetadataType.SCHEMA` and `MetadataType.BUSINESS`."""

    SCHEMA = "schema", _("Schema")
    BUSINESS = "business", _("Business")
    TECHNICAL = "technical", _("Technical")


class VersionOp(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    ROLLBACK = "rollback", _("Rolled back")


class Record(TenantScopedModel):
    """One metadata record. `body` holds the current content (encoded); every version
    holds its own snapshot. The name is unique among the tenant's live records, so a
    deleted record's name can be reused, and its restore is refused while it is taken."""

    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID")
    )
    metadata_type = models.CharField(
        _("type"), max_length=16, choices=MetadataType.choices, default=MetadataType.BUSINESS
    )
    name = models.CharField(_("name"), max_length=200)
    body = models.BinaryField(verbose_name=_("content (compressed)"))
    codec = models.PositiveSmallIntegerField(default=0, verbose_name=_("codec"))
    content_bytes = models.PositiveIntegerField(
        default=0,
        help_text=_("Size of the content as canonical JSON, before compression."),
        verbose_name=_("content size (bytes)"),
    )
    subject = models.ForeignKey(
        "metadata_mgr.Subject",
        verbose_name=_("schema subject"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="records",
    )
    subject_version = models.ForeignKey(
        "metadata_mgr.SubjectVersion",
        verbose_name=_("schema version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="validated_records",
        help_text=_("The schema version the current content was validated against."),
    )
    tags = models.JSONField(default=list, blank=True, verbose_name=_("tags"))
    # "|tag1|tag2|": filtering by tag with one LIKE on every database (SQLite has no
    # JSON containment lookup); tags cannot hold "|" (validation.py).
    tag_index = models.TextField(
        default="", blank=True, editable=False, verbose_name=_("tag index")
    )
    owner = models.CharField(_("owner"), max_length=150, blank=True, default="")
    sensitive = models.BooleanField(
        _("sensitive"),
        default=False,
        help_text=_("Content sealed with the tenant's key and kept out of search."),
    )
    version = models.CharField(_("version"), max_length=24, default="1.0")
    version_seq = models.PositiveIntegerField(default=1, verbose_name=_("version number"))
    created_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    deleted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("deleted at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("metadata record")
        verbose_name_plural = _("metadata records")
        ordering = ["-updated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=models.Q(deleted_at__isnull=True),
                name="uniq_metadata_live_name",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "metadata_type", "updated_at"], name="meta_type_idx"),
            models.Index(fields=["tenant", "owner"], name="meta_owner_idx"),
            models.Index(fields=["tenant", "subject"], name="meta_subject_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def content(self):
        """The decoded content (opened with the tenant's key when sealed), cached."""
        cached = self.__dict__.get("_content_cache")
        if cached is None or cached[0] is not self.__dict__.get("body"):
            from metadata_mgr.codec import decode_body

            cached = (self.__dict__.get("body"), decode_body(self, "body"))
            self.__dict__["_content_cache"] = cached
        return cached[1]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def conformance_values(cls) -> dict:
        from metadata_mgr.codec import encode_plain

        return {"name": "conformance", "body": encode_plain({"seed": "conformance"})[0]}


class RecordVersion(TenantScopedModel):
    """One version of a record: the whole document as it was (content, name, tags,
    owner, subject) and the change description from the version before, both encoded
    in `body`. `seq` counts versions (1, 2, ...); `label` is the major.minor number."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Not a foreign key: the scoped ORM checks every foreign key of every inserted row
    # with a query (the tenant of the row it points at), which would double the cost of
    # a bulk import. A version is only ever read through its record's id, by the scoped
    # manager, so it cannot reach another tenant's record.
    record_id = models.UUIDField()
    seq = models.PositiveIntegerField()
    major = models.PositiveIntegerField()
    minor = models.PositiveIntegerField()
    label = models.CharField(max_length=24)
    op = models.CharField(max_length=10, choices=VersionOp.choices)
    rolled_back_to = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("The version (seq) a rollback restored.")
    )
    breaking = models.BooleanField(default=False)
    # Counts only: paths and values live in the encoded body (sealed when sensitive).
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    body = models.BinaryField()
    codec = models.PositiveSmallIntegerField(default=0)
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")
        ordering = ["record_id", "-seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "record_id", "seq"], name="uniq_metadata_version_seq"
            )
        ]

    def __str__(self):
        return self.label

    @property
    def payload(self) -> dict:
        """{"document": {...}, "changes": [...]}, decoded once."""
        cached = self.__dict__.get("_payload_cache")
        if cached is None:
            from metadata_mgr.codec import decode_body

            cached = decode_body(self, "body")
            self.__dict__["_payload_cache"] = cached
        return cached

    @property
    def document(self) -> dict:
        return self.payload["document"]

    @property
    def changes(self) -> list:
        return self.payload["changes"]

    @classmethod
    def conformance_values(cls) -> dict:
        from metadata_mgr.codec import encode_plain

        body = encode_plain({"document": {}, "changes": []})[0]
        return {
            "record_id": uuid.UUID(int=1),
            "seq": 1,
            "major": 1,
            "minor": 0,
            "label": "1.0",
            "op": "create",
            "body": body,
        }


class OutboxOp(models.TextChoices):
    UPSERT = "upsert", _("Created or changed")
    DELETE = "delete", _("Deleted")


class MetadataOutbox(TenantScopedModel):
    """What search must catch up with: one row per record change, written in the same
    transaction as the change (so a committed change always has its row, and a rolled
    back one never does). The search indexer reads rows in `id` order and deletes what
    it has applied; `version_seq` lets it skip a row older than what it already
    indexed. No foreign key: a row outlives the purge of its record."""

    record_id = models.UUIDField()
    op = models.CharField(max_length=8, choices=OutboxOp.choices)
    version_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("search outbox entry")
        verbose_name_plural = _("search outbox")
        ordering = ["id"]

    def __str__(self):
        return f"{self.op} {self.record_id} v{self.version_seq}"
