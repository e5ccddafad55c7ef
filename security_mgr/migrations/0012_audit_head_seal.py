"""Seal every log's head row (audit_mgr/seal.py): the sequencer and the signer
refuse a head row without its seal from now on.

The heads that exist are sealed as they are, after checking that their root is the
root of their frontier: whatever the tables held before this migration is trusted as
much as it was (verify_audit still checks the entries against every signed head).
Needs the master key, like the application. Runs as the owner, whom FORCEd row-level
security fences too: each tenant's head is sealed inside that tenant's context."""

import json

from django.db import migrations, models


def _seal_heads(head_model, label, **scope):
    from audit_mgr import merkle
    from audit_mgr.seal import head_seal

    for head in head_model.objects.filter(**scope):
        frontier = head.frontier if isinstance(head.frontier, list) else json.loads(head.frontier)
        root = merkle.frontier_root([bytes.fromhex(h) for h in frontier])
        if bytes(head.root_hash) not in (root, b""):
            continue  # inconsistent already: left unsealed, verify_audit names it
        head_model.objects.filter(pk=head.pk).update(
            root_hash=root, seal=head_seal(label, head.size, root)
        )


def seal_heads(apps, schema_editor):
    from tenancy.context import TenantRef, tenant_context

    Tenant = apps.get_model("tenancy", "Tenant")
    for tenant_id in Tenant.objects.values_list("id", flat=True):
        with tenant_context(TenantRef.for_id(tenant_id)):
            _seal_heads(
                apps.get_model("security_mgr", "AuditLogHead"),
                f"tenant:{tenant_id}",
                tenant_id=tenant_id,
            )
    _seal_heads(apps.get_model("security_mgr", "PlatformLogHead"), "platform")


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0011_audit_tables_lighter_tenant_column"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditloghead",
            name="seal",
            field=models.BinaryField(blank=True, default=b"", max_length=32),
        ),
        migrations.AddField(
            model_name="platformloghead",
            name="seal",
            field=models.BinaryField(blank=True, default=b"", max_length=32),
        ),
        migrations.RunPython(seal_heads, migrations.RunPython.noop),
    ]
