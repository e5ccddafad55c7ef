"""The audit log: one append-only RFC 6962 Merkle log per tenant, and one for the
platform (escape-hatch uses happen with no tenant, so they need a home of their own).

Four tables per log (the platform has unscoped twins of each):
- pending entries: what `audit.append()` inserts in the caller's transaction (one INSERT,
  no lock); the sequencer consumes them;
- entries: the log itself. An entry stores its canonical `data` (the exact bytes hashed
  into the leaf), its leaf hash and the tree root after it; `verify_audit` recomputes
  all three;
- nodes: the hash of every perfect, aligned subtree at level >= 1, so that proofs need
  O(log n) lookups instead of every leaf; `verify_audit` recomputes them too;
- the head (size, frontier, root: what the sequencer extends, under its row lock) and
  the signed tree heads.

`append_only = True` makes tenancy/rls.py grant the runtime and platform roles only
SELECT and INSERT on the table, and the ORM refuses update() and delete() too; the
pending tables are `consumable` as well: the database lets those roles DELETE rows
(the sequencer consumes them), never UPDATE them.

The tables keep the names they had when the log lived in security_mgr (`db_table`):
moving the models to this app changed Django's state only (migrations/0001_initial.py),
not one row, policy, trigger or grant.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from audit_mgr.exceptions import AppendOnlyViolation
from audit_mgr.security_events import EventType, SecurityEvent, Severity  # noqa: F401
from tenancy.context import current_state, require_tenant_id
from tenancy.models import TenantScopedModel, is_tenant_scoped
from tenancy.models.scoped import (
    TenantForeignKey,
    TenantScopedManager,
    TenantScopedQuerySet,
    _write_tenant_id,
)


def _refuse(what: str):
    raise AppendOnlyViolation(f"the audit log is append-only: {what} is refused")


def _tenant_rules_first(model, operation: str) -> None:
    """A scoped log still fails closed first: with no tenant the caller learns that, and
    naming another tenant is a TenantMismatch, exactly as for every scoped model."""
    if is_tenant_scoped(model) and current_state() is None:
        require_tenant_id(operation)


class AppendOnlyQuerySetMixin:
    def update(self, **kwargs):
        if is_tenant_scoped(self.model):
            self._check_update(kwargs)
        _refuse("update()")

    async def aupdate(self, **kwargs):
        self.update(**kwargs)

    def delete(self):
        _tenant_rules_first(self.model, "delete()")
        _refuse("delete()")

    async def adelete(self):
        self.delete()

    def bulk_update(self, objs, fields, *args, **kwargs):
        _tenant_rules_first(self.model, "bulk_update()")
        _refuse("bulk_update()")

    update.alters_data = delete.alters_data = bulk_update.alters_data = True
    aupdate.alters_data = adelete.alters_data = True


class AppendOnlyModelMixin:
    append_only = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            if is_tenant_scoped(type(self)):
                self._enforce_tenant_on_write()
            _refuse("changing an entry")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if is_tenant_scoped(type(self)):
            _write_tenant_id(self.tenant_id)
        _refuse("deleting an entry")


class ScopedAppendOnlyQuerySet(AppendOnlyQuerySetMixin, TenantScopedQuerySet):
    pass


class ScopedAppendOnlyManager(TenantScopedManager.from_queryset(ScopedAppendOnlyQuerySet)):
    pass


class AppendOnlyQuerySet(AppendOnlyQuerySetMixin, models.QuerySet):
    pass


class AbstractEntry(models.Model):
    seq = models.BigIntegerField(verbose_name=_("seq"))  # leaf index, from 0
    event = models.CharField(max_length=80, verbose_name=_("event"))
    actor = models.CharField(max_length=150, blank=True, default="", verbose_name=_("actor"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    data = models.TextField(verbose_name=_("data"))  # canonical JSON, the leaf's input
    leaf_hash = models.BinaryField(max_length=32, verbose_name=_("leaf hash"))
    root_hash = models.BinaryField(max_length=32, verbose_name=_("root hash"))
    # The pending row this entry was sequenced from, so that a caller holding that row
    # finds its entry (`audit.entry_of`). Bookkeeping only: not hashed, not verified.
    pending_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("pending id"))

    class Meta:
        abstract = True

    def __str__(self):
        return f"#{self.seq} {self.event}"

    @classmethod
    def conformance_values(cls):
        from django.utils import timezone

        # A seq no real log reaches, so that real appends in the same test never collide.
        return {
            "seq": 2**40,
            "leaf_hash": b"\0" * 32,
            "root_hash": b"\0" * 32,
            "created_at": timezone.now(),
        }


class AbstractPending(models.Model):
    """An appended event waiting for its sequence number. It commits (or rolls back)
    with the audited action; the sequencer turns it into an entry and deletes it."""

    event = models.CharField(max_length=80)
    actor = models.TextField(blank=True, default="")  # whole: it goes into the data
    # When it was appended, in µs since the epoch: exactly the `at_us` of the entry's
    # data (an integer, so the sequencer's DELETE ... RETURNING needs no conversion).
    at_us = models.BigIntegerField()
    payload = models.TextField(default="{}")  # canonical JSON

    consumable = True

    class Meta:
        abstract = True

    def __str__(self):
        return f"pending {self.event}"

    @classmethod
    def conformance_values(cls):
        return {"at_us": 0}


class AbstractNode(models.Model):
    """Node (level, index) of the tree: the hash of leaves [index·2^level,
    (index+1)·2^level), stored once that subtree is complete (level >= 1)."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        abstract = True

    def __str__(self):
        return f"node ({self.level}, {self.index})"

    @classmethod
    def conformance_values(cls):
        return {"hash": b"\0" * 32}


class AbstractHead(models.Model):
    """Cached state of a log (size, frontier, root): what the sequencer extends, under
    the log's sequencing lock (not taken by appends). Sealed with an HMAC under a key
    derived from the master key (audit_mgr/seal.py): the sequencer and the
    signer refuse a head without its seal, and verification checks the entries against
    it (size, root, frontier) instead of trusting it."""

    size = models.BigIntegerField(default=0)
    frontier = models.JSONField(default=list, blank=True)  # hex hashes, largest first
    root_hash = models.BinaryField(max_length=32, default=b"")
    seal = models.BinaryField(max_length=32, default=b"", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"log head, size {self.size}"


class AbstractTreeHead(models.Model):
    tree_size = models.BigIntegerField(verbose_name=_("tree size"))
    root_hash = models.BinaryField(max_length=32, verbose_name=_("root hash"))
    signed_at = models.DateTimeField(verbose_name=_("signed at"))
    key_id = models.CharField(max_length=40, verbose_name=_("key id"))
    sig_ed25519 = models.BinaryField(verbose_name=_("Ed25519 signature"))
    sig_mldsa65 = models.BinaryField(verbose_name=_("ML-DSA-65 signature"))

    class Meta:
        abstract = True

    def __str__(self):
        return f"signed tree head, size {self.tree_size}"

    @classmethod
    def conformance_values(cls):
        from django.utils import timezone

        return {"root_hash": b"\0" * 32, "signed_at": timezone.now()}


def _tenant_column(**options):
    """The tenant column of the log's busiest tables, without the single-column index
    every scoped model gets: their unique keys start with the tenant and serve every
    lookup by tenant (on PostgreSQL so does the (tenant, id) key that row-level
    security adds), and the sequencer writes a row of each per entry."""
    return TenantForeignKey(
        "tenancy.Tenant",
        on_delete=models.DO_NOTHING,
        related_name="+",
        editable=False,
        db_index=False,
        **options,
    )


class AuditEntry(AppendOnlyModelMixin, TenantScopedModel, AbstractEntry):
    tenant = _tenant_column()
    objects = ScopedAppendOnlyManager()

    class Meta(TenantScopedModel.Meta):
        db_table = "security_mgr_auditentry"
        constraints = [models.UniqueConstraint(fields=["tenant", "seq"], name="uniq_audit_seq")]
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")


class PendingAuditEntry(AppendOnlyModelMixin, TenantScopedModel, AbstractPending):
    # A row lives about a second. No database foreign key: its check would take a KEY
    # SHARE lock on the tenant's row at every audited commit, which concurrent commits
    # of one tenant turn into multixacts (9% of the append rate on the bench); the
    # sequenced entry keeps the key.
    tenant = _tenant_column(db_constraint=False)
    # The ORM refuses to delete too: only the sequencer consumes rows (audit/store.py).
    objects = ScopedAppendOnlyManager()

    class Meta(TenantScopedModel.Meta):
        db_table = "security_mgr_pendingauditentry"
        ordering = ["id"]
        verbose_name_plural = _("pending audit entries")


class AuditNode(AppendOnlyModelMixin, TenantScopedModel, AbstractNode):
    tenant = _tenant_column()
    objects = ScopedAppendOnlyManager()

    class Meta(TenantScopedModel.Meta):
        db_table = "security_mgr_auditnode"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "level", "index"], name="uniq_audit_node")
        ]


class AuditLogHead(TenantScopedModel, AbstractHead):
    class Meta(TenantScopedModel.Meta):
        db_table = "security_mgr_auditloghead"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_audit_head")]


class SignedTreeHead(AppendOnlyModelMixin, TenantScopedModel, AbstractTreeHead):
    objects = ScopedAppendOnlyManager()

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("signed tree head")
        verbose_name_plural = _("signed tree heads")
        db_table = "security_mgr_signedtreehead"
        ordering = ["tree_size", "id"]


class PlatformAuditEntry(AppendOnlyModelMixin, AbstractEntry):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "security_mgr_platformauditentry"
        constraints = [models.UniqueConstraint(fields=["seq"], name="uniq_platform_audit_seq")]
        ordering = ["seq"]
        verbose_name_plural = _("platform audit entries")


class PlatformPendingEntry(AppendOnlyModelMixin, AbstractPending):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "security_mgr_platformpendingentry"
        ordering = ["id"]
        verbose_name_plural = _("platform pending entries")


class PlatformAuditNode(AppendOnlyModelMixin, AbstractNode):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "security_mgr_platformauditnode"
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="uniq_platform_audit_node")
        ]


class PlatformLogHead(AbstractHead):
    singleton = models.BooleanField(default=True, unique=True)

    class Meta:
        db_table = "security_mgr_platformloghead"


class PlatformTreeHead(AppendOnlyModelMixin, AbstractTreeHead):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "security_mgr_platformtreehead"
        ordering = ["tree_size", "id"]
