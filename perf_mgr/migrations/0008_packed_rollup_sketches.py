"""Roll-up sketches move from JSON lists (`[codes, counts]`) to packed binary records
(perf_mgr/sketch.py, `pack`): a day of a tenant's hourly roll-ups decodes with one numpy
call instead of thousands of `json.loads` (docs/performance.md, "Analytics").

The data step converts each tenant's roll-ups in its own context (row-level security
FORCEs even the owner that runs migrations to one tenant at a time); the reverse writes
the JSON form back."""

import json

from django.db import migrations, models

BATCH = 2000


def _tenants(connection) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_tenant ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _convert(schema_editor, read: str, write: str, change) -> None:
    from tenancy.context import TenantRef, tenant_context

    connection = schema_editor.connection
    for tenant_id in _tenants(connection):
        with tenant_context(TenantRef(tenant_id, f"migration-{tenant_id}")):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, {read} FROM perf_mgr_metricrollup WHERE tenant_id = %s",
                    [tenant_id],
                )
                rows = [(change(value), row_id) for row_id, value in cursor.fetchall()]
            with connection.cursor() as cursor:
                for start in range(0, len(rows), BATCH):
                    cursor.executemany(
                        f"UPDATE perf_mgr_metricrollup SET {write} = %s WHERE id = %s",
                        rows[start : start + BATCH],
                    )


def to_packed(apps, schema_editor):
    from perf_mgr import sketch

    def change(value):
        if isinstance(value, str | bytes | bytearray):
            value = json.loads(value)
        return sketch.from_json(value)

    _convert(schema_editor, "sketch", "sketch_packed", change)


def to_json(apps, schema_editor):
    from perf_mgr import sketch

    def change(value):
        found = sketch.records(value)
        return json.dumps([found["code"].tolist(), found["count"].tolist()] if len(found) else [])

    _convert(schema_editor, "sketch_packed", "sketch", change)


class Migration(migrations.Migration):
    dependencies = [("perf_mgr", "0007_sample_ingest_path")]

    operations = [
        migrations.AddField(
            model_name="metricrollup",
            name="sketch_packed",
            field=models.BinaryField(blank=True, default=b"", verbose_name="sketch"),
        ),
        migrations.RunPython(to_packed, to_json),
        migrations.RemoveField(model_name="metricrollup", name="sketch"),
        migrations.RenameField(
            model_name="metricrollup", old_name="sketch_packed", new_name="sketch"
        ),
    ]
