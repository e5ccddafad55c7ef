"""Notification channel secrets (the webhooks' HMAC keys) were stored in clear; from
here they are sealed with the tenant's key (`tenancy.hooks.seal_tenant_value`, provided
by security_mgr), bound to the tenant and the channel's row, in `secret_sealed`.

The data step seals each existing secret in its tenant's context (row-level security
FORCEs even the owner that runs migrations to one tenant at a time). A tenant whose key
can no longer seal (a crypto-shredded ring) gets its channels disabled with no secret:
saving such a channel again gives it a new one. The reverse opens them back into the
clear column. On a fresh database there is no channel and the step does nothing."""

import logging

from django.db import migrations, models

log = logging.getLogger("dim.migrations")


def _each_channel(schema_editor, column: str):
    """(tenant id, channel id, value of `column`) of every channel, each yielded inside
    its tenant's context (RLS shows the owner one tenant at a time), then `update(sql,
    params)` to write the channel's row in that context."""
    from tenancy.context import TenantRef, tenant_context

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_tenant ORDER BY id")
        tenant_ids = [row[0] for row in cursor.fetchall()]
    for tenant_id in tenant_ids:
        with tenant_context(TenantRef(tenant_id, f"migration-{tenant_id}")):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, {column} FROM perf_mgr_alertchannel WHERE tenant_id = %s",
                    [tenant_id],
                )
                rows = cursor.fetchall()
            for channel_id, value in rows:
                yield tenant_id, channel_id, value


def _update(schema_editor, sql: str, params: list) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)


def seal_secrets(apps, schema_editor):
    from kms.exceptions import CryptoError
    from perf_mgr.models.alerting import seal_secret

    for tenant_id, channel_id, secret in _each_channel(schema_editor, "secret"):
        try:
            sealed, enabled = seal_secret(tenant_id, channel_id, secret), None
        except CryptoError as exc:
            log.warning(
                "channel_secret_not_sealed",
                extra={"tenant": tenant_id, "channel": channel_id, "error": str(exc)},
            )
            sealed, enabled = b"", False
        _update(
            schema_editor,
            "UPDATE perf_mgr_alertchannel SET secret_sealed = %s, "
            "enabled = COALESCE(%s, enabled) WHERE id = %s",
            [sealed, enabled, channel_id],
        )


def open_secrets(apps, schema_editor):
    from perf_mgr.models.alerting import new_secret, open_secret

    for tenant_id, channel_id, sealed in _each_channel(schema_editor, "secret_sealed"):
        plain = open_secret(tenant_id, channel_id, sealed) if sealed else new_secret()
        _update(
            schema_editor,
            "UPDATE perf_mgr_alertchannel SET secret = %s WHERE id = %s",
            [plain, channel_id],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("perf_mgr", "0005_verbose_names"),
        ("security_mgr", "0018_verbose_names"),  # every tenant has its key ring
    ]

    operations = [
        migrations.AddField(
            model_name="alertchannel",
            name="secret_sealed",
            field=models.BinaryField(
                blank=True, default=b"", editable=False, verbose_name="secret (sealed)"
            ),
        ),
        migrations.RunPython(seal_secrets, open_secrets),
        migrations.RemoveField(model_name="alertchannel", name="secret"),
    ]
