"""Security events become one model for every feature (issue 11): the session
manager's columns (the session and user it is about, the anomaly score) join
security_mgr's table, and `type` takes the session manager's kinds too. Then
audit_mgr's 0002 takes the model over, table and rows as they are (0016 removes it
from security_mgr's state), and sessions_mgr's 0004 copies its own events in.

Adding nullable or defaulted columns and a partial index: the rows are not rewritten."""

from django.db import migrations, models

TYPES = [
    ("brute_force", "Brute force"),
    ("credential_stuffing", "Credential stuffing"),
    ("forged_tokens", "Forged or foreign tokens"),
    ("cross_tenant_probe", "Cross-tenant probing"),
    ("session_anomaly", "Session anomaly"),
    ("wrong_tenant", "Token of another tenant"),
    ("device_binding", "Device binding mismatch"),
]


class Migration(migrations.Migration):
    dependencies = [("security_mgr", "0014_audit_log_to_audit_mgr")]

    operations = [
        migrations.AddField(
            model_name="securityevent",
            name="session_id_ref",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="securityevent",
            name="user_id_ref",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="securityevent",
            name="score",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="securityevent",
            name="type",
            field=models.CharField(choices=TYPES, max_length=30),
        ),
        migrations.AddIndex(
            model_name="securityevent",
            index=models.Index(
                condition=models.Q(("session_id_ref", ""), _negated=True),
                fields=["tenant", "session_id_ref"],
                name="secevent_tenant_session",
            ),
        ),
        migrations.AlterModelTable(name="securityevent", table="security_mgr_securityevent"),
    ]
