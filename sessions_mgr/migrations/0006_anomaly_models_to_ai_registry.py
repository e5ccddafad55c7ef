"""The session analytics' models move to the AI registry (ai_mgr, issue 15): each
tenant's `AnomalyModel` versions become versions of its `session-behaviour` model, the
newest one champion, then the table goes.

The old rows hold pickled IsolationForests written by our own training task; this step
is the last place that unpickles one. Each is compiled to flat arrays
(ai_mgr.compiled) and signed with the tenant's key like any new version. A blob that
cannot be read is skipped with a warning (the tenant falls back to the robust score
until the nightly training). Rows are read and written in their tenant's context (RLS
FORCEs even the owner to one tenant at a time). On a fresh database there is nothing to
move. Not reversible: the registry's versions are not turned back into pickles."""

import logging
import pickle

from django.db import migrations

log = logging.getLogger("dim.migrations")
MODEL, KIND = "session-behaviour", "session_behaviour"
FEATURES = ["rate_per_min", "ips", "agents", "networks", "failures", "hour_sin", "hour_cos"]


def _tenant_ids(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_tenant ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _move_tenant(apps, connection, tenant_id):
    from django.utils import timezone

    from ai_mgr import artifacts
    from ai_mgr.compiled import compile_isolation_forest

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version, trained_at, samples, blob FROM sessions_mgr_anomalymodel "
            "WHERE tenant_id = %s ORDER BY version",
            [tenant_id],
        )
        rows = cursor.fetchall()
    if not rows:
        return
    MLModel = apps.get_model("ai_mgr", "MLModel")
    ModelVersion = apps.get_model("ai_mgr", "ModelVersion")
    ModelAlias = apps.get_model("ai_mgr", "ModelAlias")
    AliasEvent = apps.get_model("ai_mgr", "AliasEvent")
    model, _ = MLModel.objects.get_or_create(
        tenant_id=tenant_id, name=MODEL, defaults={"kind": KIND, "source": "sessions.history"}
    )
    newest = None
    for number, trained_at, samples, blob in rows:
        try:
            estimator = pickle.loads(bytes(blob))  # noqa: S301  (our own task's, see above)
            arrays = compile_isolation_forest(estimator).arrays()
        except Exception as exc:  # noqa: BLE001  (one unreadable blob must not stop the move)
            log.warning("anomaly_model_not_moved", extra={"tenant": tenant_id, "version": number, "error": str(exc)})
            continue
        data = artifacts.pack(arrays)
        newest = ModelVersion.objects.create(
            tenant_id=tenant_id, model=model, number=number, algorithm="isolation_forest",
            features=FEATURES, data_rows=samples, trained_at=trained_at, trained_by="sessions analytics",
            code_version="migrated", storage="db", artifact=data, size=len(data),
            checksum=artifacts.checksum(data),
            signature=artifacts.sign(data, owner_id=tenant_id, model=MODEL, number=number),
        )  # fmt: skip
    if newest is not None:
        now = timezone.now()
        ModelAlias.objects.update_or_create(
            tenant_id=tenant_id, model=model, name="champion",
            defaults={"version": newest, "updated_at": now, "updated_by": "migration"},
        )  # fmt: skip
        AliasEvent.objects.create(
            tenant_id=tenant_id, model=model, alias="champion", version=newest, action="migrated",
            at=now, actor="migration", reason="moved from sessions_mgr.AnomalyModel",
        )  # fmt: skip


def move_to_registry(apps, schema_editor):
    from tenancy.context import TenantRef, tenant_context

    connection = schema_editor.connection
    for tenant_id in _tenant_ids(connection):
        with tenant_context(TenantRef(tenant_id, f"migration-{tenant_id}")):
            _move_tenant(apps, connection, tenant_id)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_mgr", "0005_verbose_names"),
        ("ai_mgr", "0002_registry"),
    ]

    operations = [
        migrations.RunPython(move_to_registry, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="AnomalyModel"),
    ]
