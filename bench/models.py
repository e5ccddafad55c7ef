"""Unscoped twins of scoped tables: the peers of the scoped rows.

The tables are created by the owner role (`bench.datasets`) with
`CREATE TABLE ... (LIKE <scoped table> INCLUDING ALL)`: the same columns, types and
indexes, but no RLS policy and a plain manager, i.e. what an application without the
tenant machinery would run. Unmanaged, so no migration ever creates or drops them.
"""

from django.db import models

from tenancy.models import Tenant


class PlainDocument(models.Model):
    """Same shape as tests.scoping_app.Document."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    folder_id = models.BigIntegerField()
    title = models.CharField(max_length=100)
    size = models.IntegerField(default=0)

    class Meta:
        managed = False
        db_table = "bench_plain_document"

    def __str__(self):
        return self.title


class PlainSetting(models.Model):
    """Same shape as tenancy.TenantSetting."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    key = models.CharField(max_length=100)
    value = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        managed = False
        db_table = "bench_plain_setting"
        ordering = ["key"]

    def __str__(self):
        return self.key


class PlainMetadata(models.Model):
    """A metadata record as a bare Django model would store it: the same JSON in a
    jsonb column, no tenant scoping, no RLS, no version, outbox or audit entry
    (table created by bench/rows_metadata.py as the owner role)."""

    id = models.UUIDField(primary_key=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    metadata_type = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    content = models.JSONField()
    tags = models.JSONField(default=list)
    owner = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "bench_plain_metadata"

    def __str__(self):
        return self.name
