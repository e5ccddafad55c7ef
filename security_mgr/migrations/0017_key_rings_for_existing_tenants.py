"""Every tenant gets its key ring when it is created (tenancy.hooks.tenant_created);
before, the ring was created by the first encryption, inside a read of the key cache.
This gives the tenants created before that change (and never encrypted anything) their
ring, so that reading the key cache never has to write.

It calls the live action (`do_create_key_ring`: the data key is wrapped by the
configured master key, and the creation is audited like any other), so it must run
against the models of this release: on a fresh database there is no tenant and it does
nothing. Runs as the owner, whom FORCEd row-level security fences too: each tenant's
ring is written inside that tenant's context (the action enters it)."""

from django.db import migrations


def create_missing_rings(apps, schema_editor):
    from security_mgr.actions import do_create_key_ring

    Tenant = apps.get_model("tenancy", "Tenant")
    for tenant_id in Tenant.objects.order_by("id").values_list("id", flat=True):
        do_create_key_ring(tenant_id, reason="migration 0017")


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0016_securityevent_to_audit_mgr"),
        ("tenancy", "0002_adminlogentry"),
    ]

    operations = [migrations.RunPython(create_missing_rings, migrations.RunPython.noop)]
