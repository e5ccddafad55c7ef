"""Rewrap: move every encrypted value of a tenant to a key version (normally the
current one after a rotation), so older versions can then be trimmed.

Plaintext exists only inside `_rewrap_batch`, for one value at a time; what is
written back is the new envelope, set through an UPDATE ... CASE statement per batch
(never through attribute access, which would hand the plaintext to the ORM).
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from security_mgr import crypto, keyring
from security_mgr.fields import EncryptedTextField, Sealed
from security_mgr.models import RewrapJob, RewrapStatus
from tenancy.models import is_tenant_scoped


def encrypted_columns() -> list[tuple[type, list[EncryptedTextField]]]:
    """Every scoped model with encrypted fields, in a stable order."""
    found = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields and is_tenant_scoped(model):
            found.append((model, fields))
    return found


def _rewrap_batch(model, fields, rows, target: int) -> int:
    """Re-seal the values of `rows` below `target`; returns how many values changed."""
    updates: dict[str, list[When]] = {f.attname: [] for f in fields}
    changed_pks = set()
    for row in rows:
        for field in fields:
            raw = row.__dict__.get(field.attname)
            if not isinstance(raw, Sealed):
                continue
            subject = field.subject(row)
            # Subject rings rotate on their own: their values go to their current version.
            goal = target if not subject else keyring.current_version(subject)
            if crypto.parse_envelope(raw.envelope).version >= goal:
                continue
            plaintext = keyring.decrypt(raw.envelope, field.aad(row), subject=subject)
            envelope = keyring.encrypt_with_version(
                plaintext, field.aad(row), goal, subject=subject
            )
            del plaintext
            updates[field.attname].append(
                When(pk=row.pk, then=Value(Sealed(envelope), output_field=field))
            )
            changed_pks.add(row.pk)
    if not changed_pks:
        return 0
    assignments = {
        name: Case(*whens, default=name, output_field=model._meta.get_field(name))
        for name, whens in updates.items()
        if whens
    }
    model.objects.filter(pk__in=changed_pks).update(**assignments)
    return sum(len(w) for w in updates.values())


def start_rewrap(*, target_version: int | None = None) -> RewrapJob:
    """Create a job for the current tenant (the task runs it)."""
    from security_mgr.models import KeyRing

    ring = KeyRing.objects.filter(subject="").first()
    target = target_version or (ring.current_version if ring else 1)
    total = sum(model.objects.count() for model, _fields in encrypted_columns())
    return RewrapJob.objects.create(target_version=target, rows_total=total)


def run_rewrap(job_id: int, *, batch_size: int = 500, max_batches: int | None = None) -> RewrapJob:
    """Advance the job batch by batch from its saved cursor. `max_batches` stops early
    (the job stays running and a later call resumes it)."""
    job = RewrapJob.objects.get(pk=job_id)
    if job.status == RewrapStatus.DONE:
        return job
    job.status = RewrapStatus.RUNNING
    job.save(update_fields=["status", "updated_at"])
    batches = 0
    try:
        for model, fields in encrypted_columns():
            label = model._meta.label
            if label in job.models_done:
                continue
            if job.current_model != label:
                job.current_model, job.last_pk = label, ""
            while max_batches is None or batches < max_batches:
                queryset = model.objects.order_by("pk")
                if job.last_pk:
                    queryset = queryset.filter(pk__gt=model._meta.pk.to_python(job.last_pk))
                rows = list(queryset[:batch_size])
                if not rows:
                    break
                with transaction.atomic():
                    changed = _rewrap_batch(model, fields, rows, job.target_version)
                    job.last_pk = str(rows[-1].pk)
                    job.rows_scanned += len(rows)
                    job.values_rewrapped += changed
                    job.save(
                        update_fields=[
                            "current_model",
                            "last_pk",
                            "rows_scanned",
                            "values_rewrapped",
                            "updated_at",
                        ]
                    )
                batches += 1
            else:
                return job  # stopped early: resumable
            job.models_done = [*job.models_done, label]
            job.current_model, job.last_pk = "", ""
            job.save(update_fields=["models_done", "current_model", "last_pk", "updated_at"])
    except Exception as exc:
        job.status = RewrapStatus.FAILED
        job.error = f"{type(exc).__name__}: {exc}"
        job.save(update_fields=["status", "error", "updated_at"])
        raise
    job.status = RewrapStatus.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "updated_at"])
    from security_mgr import audit

    audit.append(
        "key.rewrapped",
        {
            "target_version": job.target_version,
            "rows_scanned": job.rows_scanned,
            "values_rewrapped": job.values_rewrapped,
        },
    )
    return job
