"""Store the subtree nodes of every log written before nodes existed, from the
entries' stored leaf hashes (verify_audit recomputes both from the data afterwards).

Runs as the owner, whom FORCEd row-level security fences too: each tenant's log is
read inside that tenant's context, which makes the backend send `app.tenant_id`."""

from django.db import migrations

BATCH = 5000


def _backfill(entry_model, node_model, **scope):
    from audit_mgr import merkle

    if node_model.objects.filter(**scope).exists():
        return
    leaves = [
        bytes(h)
        for h in entry_model.objects.filter(**scope)
        .order_by("seq")
        .values_list("leaf_hash", flat=True)
        .iterator(chunk_size=BATCH)
    ]
    for level, hashes in merkle.tree_levels(leaves):
        node_model.objects.bulk_create(
            [node_model(level=level, index=i, hash=h, **scope) for i, h in enumerate(hashes)],
            batch_size=BATCH,
        )


def backfill_nodes(apps, schema_editor):
    from tenancy.context import TenantRef, tenant_context

    Tenant = apps.get_model("tenancy", "Tenant")
    for tenant_id in Tenant.objects.values_list("id", flat=True):
        with tenant_context(TenantRef.for_id(tenant_id)):
            _backfill(
                apps.get_model("security_mgr", "AuditEntry"),
                apps.get_model("security_mgr", "AuditNode"),
                tenant_id=tenant_id,
            )
    _backfill(
        apps.get_model("security_mgr", "PlatformAuditEntry"),
        apps.get_model("security_mgr", "PlatformAuditNode"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0008_audit_queue_and_nodes"),
        ("tenancy", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill_nodes, migrations.RunPython.noop)]
