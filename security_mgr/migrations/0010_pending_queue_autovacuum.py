"""The pending tables are queues: each row is deleted within about a second of its
insert, so they are almost all dead tuples between vacuums. Vacuum them after every
1,000 dead rows (instead of 20% of a tiny table's size, a threshold a busy queue
crosses constantly while the table's statistics still say it is empty), without the
cost-based delay, and keep their statistics fresh. PostgreSQL only."""

from django.db import migrations

TABLES = ("security_mgr_pendingauditentry", "security_mgr_platformpendingentry")
SETTINGS = (
    "autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0, "
    "autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_threshold = 1000, "
    "autovacuum_analyze_scale_factor = 0"
)


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET ({SETTINGS})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    names = ", ".join(part.split("=")[0].strip() for part in SETTINGS.split(","))
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET ({names})")


class Migration(migrations.Migration):
    dependencies = [("security_mgr", "0009_backfill_audit_nodes")]

    operations = [migrations.RunPython(tune, untune)]
