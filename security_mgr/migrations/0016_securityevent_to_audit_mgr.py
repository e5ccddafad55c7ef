"""SecurityEvent leaves security_mgr's state: audit_mgr's 0002 took it, with the same
table (`db_table`). State only: the table, its rows, indexes, policies and grants
stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0015_securityevent_session_columns"),
        ("audit_mgr", "0002_securityevent"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="SecurityEvent")],
        ),
    ]
