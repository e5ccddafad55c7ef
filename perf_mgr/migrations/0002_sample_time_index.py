"""A BRIN index on the samples' time on PostgreSQL (a few pages for millions of rows,
nearly free to maintain on an append-only table); a plain index elsewhere."""

from django.db import migrations

INDEX = "metric_sample_at_brin"


def create(apps, schema_editor):
    method = "USING brin " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {INDEX} ON perf_mgr_metricsample {method}(at_us)")


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("perf_mgr", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
