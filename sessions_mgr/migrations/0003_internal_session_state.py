"""Internal session state out of the settings (issue 10, point 6): the key versions
(`session.keys`) and the tenant-wide revocation cutoff (`session.revoked_before`) were
TenantSettings, which the settings API lets an admin delete. They move into their own
models; the settings are removed.

Runs as the owner, whom FORCEd row-level security fences too: each tenant's rows are
read and written inside that tenant's context."""

import datetime as dt

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import tenancy.models.scoped

KEYS_SETTING, CUTOFF_SETTING = "session.keys", "session.revoked_before"


def _versions(value) -> list[tuple[int, float | None]]:
    """[(version, accepted until)] of a legacy `session.keys` value; [] when unusable
    (then version 1, the default, stays current)."""
    if not isinstance(value, dict):
        return []
    try:
        current = int(value.get("current", 1))
        previous = value.get("previous")
        previous = int(previous) if previous is not None else None
        until = float(value.get("previous_until", 0.0))
    except (TypeError, ValueError):
        return []
    if current < 1:
        return []
    found = [(current, None)]
    if previous is not None and 1 <= previous < current:
        found.append((previous, until))
    return found


def _cutoff(value) -> int | None:
    try:
        return int(float(value["at"])) if isinstance(value, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def move_state_out_of_settings(apps, schema_editor):
    from tenancy.context import TenantRef, tenant_context

    Tenant = apps.get_model("tenancy", "Tenant")
    Setting = apps.get_model("tenancy", "TenantSetting")
    KeyVersion = apps.get_model("sessions_mgr", "SessionKeyVersion")
    Cutoff = apps.get_model("sessions_mgr", "TenantSessionCutoff")
    for tenant_id in Tenant.objects.values_list("id", flat=True):
        with tenant_context(TenantRef.for_id(tenant_id)):
            legacy = Setting.objects.filter(
                tenant_id=tenant_id, key__in=[KEYS_SETTING, CUTOFF_SETTING]
            )
            values = dict(legacy.values_list("key", "value"))
            if not values:
                continue
            for version, until in _versions(values.get(KEYS_SETTING)):
                accepted = None if until is None else dt.datetime.fromtimestamp(until, dt.UTC)
                KeyVersion.objects.get_or_create(
                    tenant_id=tenant_id, version=version, defaults={"accepted_until": accepted}
                )
            cutoff = _cutoff(values.get(CUTOFF_SETTING))
            if cutoff is not None:
                Cutoff.objects.update_or_create(
                    tenant_id=tenant_id, defaults={"revoked_before_ms": cutoff}
                )
            legacy.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_mgr", "0002_resync_partial_index"),
        ("tenancy", "0002_adminlogentry"),
    ]

    operations = [
        migrations.CreateModel(
            name="SessionKeyVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("accepted_until", models.DateTimeField(blank=True, null=True)),
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
                "ordering": ["-version"],
                "abstract": False,
                "base_manager_name": "objects",
                "default_manager_name": "objects",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "version"), name="uniq_session_key_version"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="TenantSessionCutoff",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("revoked_before_ms", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
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
                "abstract": False,
                "base_manager_name": "objects",
                "default_manager_name": "objects",
                "constraints": [
                    models.UniqueConstraint(fields=("tenant",), name="uniq_session_cutoff_tenant")
                ],
            },
        ),
        migrations.RunPython(move_state_out_of_settings, migrations.RunPython.noop),
    ]
