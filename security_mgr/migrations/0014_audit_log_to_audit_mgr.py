"""The audit log's models leave security_mgr's state: audit_mgr's 0001_initial took
them, with the same tables (`db_table`). State only: the tables, their rows, policies,
triggers and grants stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("security_mgr", "0013_rewrap_jobs_to_jobs_mgr"),
        ("audit_mgr", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='auditentry',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='auditloghead',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='auditnode',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='pendingauditentry',
                    name='tenant',
                ),
                migrations.DeleteModel(
                    name='PlatformAuditEntry',
                ),
                migrations.DeleteModel(
                    name='PlatformAuditNode',
                ),
                migrations.DeleteModel(
                    name='PlatformLogHead',
                ),
                migrations.DeleteModel(
                    name='PlatformPendingEntry',
                ),
                migrations.DeleteModel(
                    name='PlatformTreeHead',
                ),
                migrations.RemoveField(
                    model_name='signedtreehead',
                    name='tenant',
                ),
                migrations.DeleteModel(
                    name='AuditEntry',
                ),
                migrations.DeleteModel(
                    name='AuditLogHead',
                ),
                migrations.DeleteModel(
                    name='AuditNode',
                ),
                migrations.DeleteModel(
                    name='PendingAuditEntry',
                ),
                migrations.DeleteModel(
                    name='SignedTreeHead',
                ),
            ],
        ),
    ]
