"""Rewrap jobs become jobs of kind `security.rewrap` in jobs_mgr (with a lease, a
heartbeat and a checkpoint): every RewrapJob row is copied there, cursor and counts
included, then the table goes. A job that was `running` gets a lease that has already
expired, so the sweep resumes it from its cursor.

Runs as the owner, whom FORCEd row-level security fences too: each tenant's rows are
read and written inside that tenant's context."""

from django.db import migrations

STATES = {"pending": "queued", "running": "running", "done": "succeeded", "failed": "failed"}


def _copy(RewrapJob, Job, tenant_id):
    for old in RewrapJob.objects.filter(tenant_id=tenant_id).order_by("id"):
        state = STATES.get(old.status, "failed")
        job = Job.objects.create(
            tenant_id=tenant_id,
            kind="security.rewrap",
            params={"target_version": old.target_version, "batch_size": 500},
            state=state,
            progress_done=old.rows_scanned,
            progress_total=old.rows_total,
            checkpoint={
                "models_done": list(old.models_done or []),
                "model": old.current_model,
                "last_pk": old.last_pk,
                "rows_scanned": old.rows_scanned,
                "values_rewrapped": old.values_rewrapped,
                "audited": state == "succeeded",
            },
            attempts=0 if state == "queued" else 1,
            last_error=old.error,
            lease_expires_at=old.updated_at if state == "running" else None,
            started_at=None if state == "queued" else old.created_at,
            finished_at=old.finished_at,
        )
        # auto_now_add / auto_now set both on insert: keep the job's own times.
        Job.objects.filter(pk=job.pk).update(created_at=old.created_at, updated_at=old.updated_at)


def copy_rewrap_jobs(apps, schema_editor):
    from tenancy.context import TenantRef, tenant_context

    Tenant = apps.get_model("tenancy", "Tenant")
    RewrapJob = apps.get_model("security_mgr", "RewrapJob")
    Job = apps.get_model("jobs_mgr", "Job")
    for tenant_id in Tenant.objects.values_list("id", flat=True):
        with tenant_context(TenantRef.for_id(tenant_id)):
            _copy(RewrapJob, Job, tenant_id)


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0012_audit_head_seal"),
        ("jobs_mgr", "0001_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_rewrap_jobs, migrations.RunPython.noop),
        migrations.DeleteModel(name="RewrapJob"),
    ]
