"""The security event moves here from security_mgr, in Django's state only: one model
for every feature's events (issue 11), a service like the log that is its durable
record.

Its table keeps its name (`db_table`), its rows and their ids (the events API's URLs
stay valid), its indexes, row-level security policies and grants (they follow the
table name, see tenancy/rls.py): security_mgr's 0015 added the session manager's
columns beforehand, its 0016 removes the model from security_mgr's state, and
sessions_mgr's 0004 copies the session manager's own events in. Taking the table over
rather than copying it into a new one: the threat detector's events are the many rows
(an attacker sets their rate), and a state move costs none of them a write. The
content type moves with the model (admin history and permissions keep naming it).
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import tenancy.models.scoped

TYPES = [
    ("brute_force", "Brute force"),
    ("credential_stuffing", "Credential stuffing"),
    ("forged_tokens", "Forged or foreign tokens"),
    ("cross_tenant_probe", "Cross-tenant probing"),
    ("session_anomaly", "Session anomaly"),
    ("wrong_tenant", "Token of another tenant"),
    ("device_binding", "Device binding mismatch"),
]
SEVERITIES = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")]


def _move_content_type(apps, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=target, model="securityevent").exists():
        ContentType.objects.filter(app_label=source, model="securityevent").update(
            app_label=target
        )


def content_type_to_audit_mgr(apps, schema_editor):
    _move_content_type(apps, "security_mgr", "audit_mgr")


def content_type_to_security_mgr(apps, schema_editor):
    _move_content_type(apps, "audit_mgr", "security_mgr")


class Migration(migrations.Migration):
    dependencies = [
        ("audit_mgr", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("security_mgr", "0015_securityevent_session_columns"),
        ("tenancy", "0002_adminlogentry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="SecurityEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("type", models.CharField(choices=TYPES, max_length=30)),
                        ("severity", models.CharField(choices=SEVERITIES, max_length=10)),
                        ("actor", models.CharField(blank=True, default="", max_length=150)),
                        ("source", models.CharField(blank=True, default="", max_length=64)),
                        ("session_id_ref", models.CharField(blank=True, default="", max_length=32)),
                        ("user_id_ref", models.BigIntegerField(blank=True, null=True)),
                        ("score", models.FloatField(blank=True, null=True)),
                        ("details", models.JSONField(blank=True, default=dict)),
                        ("action", models.CharField(blank=True, default="", max_length=30)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "tenant",
                            tenancy.models.scoped.TenantForeignKey(
                                editable=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="tenancy.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "security_mgr_securityevent",
                        "ordering": ["-created_at", "-id"],
                        "abstract": False,
                        "base_manager_name": "objects",
                        "default_manager_name": "objects",
                        "indexes": [
                            models.Index(fields=["tenant", "created_at"], name="secevent_tenant_time"),
                            models.Index(
                                condition=models.Q(("session_id_ref", ""), _negated=True),
                                fields=["tenant", "session_id_ref"],
                                name="secevent_tenant_session",
                            ),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_to_audit_mgr, content_type_to_security_mgr),
    ]
