"""The audit log's models move here from security_mgr, in Django's state only.

Their tables keep their names (`db_table`) and their rows; nothing in the database
changes: no table, index, constraint, row-level security policy, trigger or grant (the
policies and grants follow the table names, see tenancy/rls.py). security_mgr's
0014_audit_log_to_audit_mgr removes the same models from security_mgr's state. The
tables themselves were created by security_mgr's migrations 0001 to 0012, which this
one follows. The content types move with the models (their ids, and so the admin
history and permissions naming them, stay).
"""

import audit_mgr.models
import django.db.models.deletion
import tenancy.models.scoped
from django.db import migrations, models

MODELS = [
    "auditentry",
    "auditloghead",
    "auditnode",
    "pendingauditentry",
    "signedtreehead",
    "platformauditentry",
    "platformauditnode",
    "platformloghead",
    "platformpendingentry",
    "platformtreehead",
]


def _move_content_types(apps, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(
        ContentType.objects.filter(app_label=target, model__in=MODELS).values_list(
            "model", flat=True
        )
    )
    ContentType.objects.filter(app_label=source, model__in=MODELS).exclude(
        model__in=taken
    ).update(app_label=target)


def content_types_to_audit_mgr(apps, schema_editor):
    _move_content_types(apps, "security_mgr", "audit_mgr")


def content_types_to_security_mgr(apps, schema_editor):
    _move_content_types(apps, "audit_mgr", "security_mgr")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("security_mgr", "0013_rewrap_jobs_to_jobs_mgr"),
        ("tenancy", "0002_adminlogentry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='PlatformLogHead',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('size', models.BigIntegerField(default=0)),
                        ('frontier', models.JSONField(blank=True, default=list)),
                        ('root_hash', models.BinaryField(default=b'', max_length=32)),
                        ('seal', models.BinaryField(blank=True, default=b'', max_length=32)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('singleton', models.BooleanField(default=True, unique=True)),
                    ],
                    options={
                        'db_table': 'security_mgr_platformloghead',
                    },
                ),
                migrations.CreateModel(
                    name='PlatformPendingEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event', models.CharField(max_length=80)),
                        ('actor', models.TextField(blank=True, default='')),
                        ('at_us', models.BigIntegerField()),
                        ('payload', models.TextField(default='{}')),
                    ],
                    options={
                        'verbose_name_plural': 'platform pending entries',
                        'db_table': 'security_mgr_platformpendingentry',
                        'ordering': ['id'],
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='PlatformTreeHead',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tree_size', models.BigIntegerField()),
                        ('root_hash', models.BinaryField(max_length=32)),
                        ('signed_at', models.DateTimeField()),
                        ('key_id', models.CharField(max_length=40)),
                        ('sig_ed25519', models.BinaryField()),
                        ('sig_mldsa65', models.BinaryField()),
                    ],
                    options={
                        'db_table': 'security_mgr_platformtreehead',
                        'ordering': ['tree_size', 'id'],
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='PendingAuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event', models.CharField(max_length=80)),
                        ('actor', models.TextField(blank=True, default='')),
                        ('at_us', models.BigIntegerField()),
                        ('payload', models.TextField(default='{}')),
                        ('tenant', tenancy.models.scoped.TenantForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'verbose_name_plural': 'pending audit entries',
                        'db_table': 'security_mgr_pendingauditentry',
                        'ordering': ['id'],
                        'abstract': False,
                        'base_manager_name': 'objects',
                        'default_manager_name': 'objects',
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='PlatformAuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seq', models.BigIntegerField()),
                        ('event', models.CharField(max_length=80)),
                        ('actor', models.CharField(blank=True, default='', max_length=150)),
                        ('created_at', models.DateTimeField()),
                        ('data', models.TextField()),
                        ('leaf_hash', models.BinaryField(max_length=32)),
                        ('root_hash', models.BinaryField(max_length=32)),
                        ('pending_id', models.BigIntegerField(blank=True, null=True)),
                    ],
                    options={
                        'verbose_name_plural': 'platform audit entries',
                        'db_table': 'security_mgr_platformauditentry',
                        'ordering': ['seq'],
                        'constraints': [models.UniqueConstraint(fields=('seq',), name='uniq_platform_audit_seq')],
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='PlatformAuditNode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('level', models.PositiveSmallIntegerField()),
                        ('index', models.BigIntegerField()),
                        ('hash', models.BinaryField(max_length=32)),
                    ],
                    options={
                        'db_table': 'security_mgr_platformauditnode',
                        'constraints': [models.UniqueConstraint(fields=('level', 'index'), name='uniq_platform_audit_node')],
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='SignedTreeHead',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tree_size', models.BigIntegerField()),
                        ('root_hash', models.BinaryField(max_length=32)),
                        ('signed_at', models.DateTimeField()),
                        ('key_id', models.CharField(max_length=40)),
                        ('sig_ed25519', models.BinaryField()),
                        ('sig_mldsa65', models.BinaryField()),
                        ('tenant', tenancy.models.scoped.TenantForeignKey(editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'db_table': 'security_mgr_signedtreehead',
                        'ordering': ['tree_size', 'id'],
                        'abstract': False,
                        'base_manager_name': 'objects',
                        'default_manager_name': 'objects',
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='AuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seq', models.BigIntegerField()),
                        ('event', models.CharField(max_length=80)),
                        ('actor', models.CharField(blank=True, default='', max_length=150)),
                        ('created_at', models.DateTimeField()),
                        ('data', models.TextField()),
                        ('leaf_hash', models.BinaryField(max_length=32)),
                        ('root_hash', models.BinaryField(max_length=32)),
                        ('pending_id', models.BigIntegerField(blank=True, null=True)),
                        ('tenant', tenancy.models.scoped.TenantForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'verbose_name_plural': 'audit entries',
                        'db_table': 'security_mgr_auditentry',
                        'ordering': ['seq'],
                        'abstract': False,
                        'base_manager_name': 'objects',
                        'default_manager_name': 'objects',
                        'constraints': [models.UniqueConstraint(fields=('tenant', 'seq'), name='uniq_audit_seq')],
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='AuditLogHead',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('size', models.BigIntegerField(default=0)),
                        ('frontier', models.JSONField(blank=True, default=list)),
                        ('root_hash', models.BinaryField(default=b'', max_length=32)),
                        ('seal', models.BinaryField(blank=True, default=b'', max_length=32)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('tenant', tenancy.models.scoped.TenantForeignKey(editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'db_table': 'security_mgr_auditloghead',
                        'abstract': False,
                        'base_manager_name': 'objects',
                        'default_manager_name': 'objects',
                        'constraints': [models.UniqueConstraint(fields=('tenant',), name='uniq_audit_head')],
                    },
                ),
                migrations.CreateModel(
                    name='AuditNode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('level', models.PositiveSmallIntegerField()),
                        ('index', models.BigIntegerField()),
                        ('hash', models.BinaryField(max_length=32)),
                        ('tenant', tenancy.models.scoped.TenantForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'db_table': 'security_mgr_auditnode',
                        'abstract': False,
                        'base_manager_name': 'objects',
                        'default_manager_name': 'objects',
                        'constraints': [models.UniqueConstraint(fields=('tenant', 'level', 'index'), name='uniq_audit_node')],
                    },
                    bases=(audit_mgr.models.AppendOnlyModelMixin, models.Model),
                ),
            ],
        ),
        migrations.RunPython(content_types_to_audit_mgr, content_types_to_security_mgr),
    ]
