"""Rewrap: move every encrypted value of a tenant to a key version (normally the
current one after a rotation), so older versions can then be trimmed.

A rewrap is a job of kind `security.rewrap` (jobs_mgr): each batch is one step, so the
re-sealed values of a batch and the cursor after it (model, last primary key, counts)
commit together. A worker killed mid-batch leaves the previous cursor; the sweep
requeues the job and the next worker redoes that batch only: every value is rewrapped
once, and counted once.

Plaintext exists only inside `_rewrap_batch`, for one value at a time; what is
written back is the new envelope, set through an UPDATE ... CASE statement per batch
(never through attribute access, which would hand the plaintext to the ORM).
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.models import Case, Value, When

from jobs_mgr import registry
from jobs_mgr.actions import enqueue_job
from jobs_mgr.engine import JobContext, run_job
from jobs_mgr.models import Job
from security_mgr import crypto, keyring
from security_mgr.exceptions import KeyVersionUnknown
from security_mgr.fields import EncryptedTextField, Sealed
from security_mgr.models.keyring import KeyRing
from tenancy import hooks
from tenancy.context import require_tenant_id
from tenancy.models import is_tenant_scoped

REWRAP = "security.rewrap"
DEFAULT_BATCH = 500


class _AnnouncedColumn:
    """A column another feature seals through `tenancy.hooks.seal_tenant_value` and
    announces through `tenancy.hooks.sealed_columns`: rewrapped like a field of ours
    (same envelope format), its values stored as plain bytes."""

    def __init__(self, column: hooks.SealedColumn):
        self.column = column
        self.attname = column.attname
        self.output_field = column.model._meta.get_field(column.attname)

    def envelope(self, row) -> bytes | None:
        raw = row.__dict__.get(self.attname)
        if raw is None or not self.column.is_sealed(row):
            return None
        return bytes(raw)

    def subject(self, row) -> str:
        return ""  # sealed under the tenant's ring

    def aad(self, row) -> bytes:
        return self.column.aad(row)

    def value(self, envelope: bytes) -> Value:
        return Value(envelope, output_field=self.output_field)


def _envelope(field, row) -> bytes | None:
    if isinstance(field, _AnnouncedColumn):
        return field.envelope(row)
    raw = row.__dict__.get(field.attname)
    return raw.envelope if isinstance(raw, Sealed) else None


def _new_value(field, envelope: bytes) -> Value:
    if isinstance(field, _AnnouncedColumn):
        return field.value(envelope)
    return Value(Sealed(envelope), output_field=field)


def encrypted_columns() -> list[tuple[type, list]]:
    """Every scoped model with encrypted fields, then every model with columns other
    features seal with the tenant's key (`tenancy.hooks.sealed_columns`), each group in
    label order (a stable order: the job's cursor walks it)."""
    found = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields and is_tenant_scoped(model):
            found.append((model, fields))
    announced: dict[type, list] = {}
    for columns in hooks.sealed_columns.call():
        for column in columns:
            if is_tenant_scoped(column.model):
                announced.setdefault(column.model, []).append(_AnnouncedColumn(column))
    return found + sorted(announced.items(), key=lambda item: item[0]._meta.label)


def _rewrap_batch(model, fields, rows, target: int) -> int:
    """Re-seal the values of `rows` below `target`; returns how many values changed."""
    updates: dict[str, list[When]] = {f.attname: [] for f in fields}
    changed_pks = set()
    for row in rows:
        for field in fields:
            envelope = _envelope(field, row)
            if envelope is None:
                continue
            subject = field.subject(row)
            # Subject rings rotate on their own: their values go to their current version.
            goal = target if not subject else keyring.current_version(subject)
            if crypto.parse_envelope(envelope).version >= goal:
                continue
            plaintext = keyring.decrypt(envelope, field.aad(row), subject=subject)
            envelope = keyring.encrypt_with_version(
                plaintext, field.aad(row), goal, subject=subject
            )
            del plaintext
            updates[field.attname].append(When(pk=row.pk, then=_new_value(field, envelope)))
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


def do_start_rewrap(
    *,
    target_version: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    actor: str = "",
    send: bool = True,
) -> Job:
    """Queue a rewrap job for the current tenant: the one way to start one (API, facade,
    benchmarks). A target above the ring's current version is refused
    (KeyVersionUnknown, a 400 in the API); none means the current one. The job and its
    audit entry commit together and a worker is sent the job once they have committed
    (`send=False`: the caller runs it with `run_rewrap`)."""
    with transaction.atomic():
        ring = KeyRing.objects.filter(subject="").first()
        if ring is None or not ring.current_version:
            raise keyring.missing(require_tenant_id("do_start_rewrap"), "")
        if target_version is not None and not 1 <= target_version <= ring.current_version:
            raise KeyVersionUnknown(
                f"no key version {target_version} (current {ring.current_version})"
            )
        total = sum(model.objects.count() for model, _fields in encrypted_columns())
        params = {
            "target_version": target_version or ring.current_version,
            "batch_size": batch_size,
        }
        return enqueue_job(REWRAP, params, total=total, actor=actor, send=send)


def rewrap_jobs():
    """The tenant's rewrap jobs, newest first."""
    return Job.objects.filter(kind=REWRAP).order_by("-created_at", "-id")


def run_rewrap(
    job_id: int, *, batch_size: int | None = None, max_batches: int | None = None
) -> Job:
    """Run (or continue) the job here and now. `max_batches` stops after that many
    steps as a killed worker would: the job stays `running` until its lease expires."""
    options = {"batch_size": batch_size} if batch_size else None
    return run_job(job_id, max_steps=max_batches, options=options)


def _cursor(ctx: JobContext) -> dict:
    return {
        "models_done": [],
        "model": "",
        "last_pk": "",
        "rows_scanned": 0,
        "values_rewrapped": 0,
        **ctx.checkpoint,
    }


def _run(ctx: JobContext) -> dict:
    """The runner: one step per batch, from the saved cursor."""
    target = int(ctx.params["target_version"])
    batch_size = int(ctx.options.get("batch_size") or ctx.params.get("batch_size", DEFAULT_BATCH))
    cursor = _cursor(ctx)
    for model, fields in encrypted_columns():
        label = model._meta.label
        if label in cursor["models_done"]:
            continue
        if cursor["model"] != label:
            cursor = {**cursor, "model": label, "last_pk": ""}
        rows = True
        while rows:
            with ctx.step():
                queryset = model.objects.order_by("pk")
                if cursor["last_pk"]:
                    queryset = queryset.filter(pk__gt=model._meta.pk.to_python(cursor["last_pk"]))
                rows = list(queryset[:batch_size])
                if rows:
                    changed = _rewrap_batch(model, fields, rows, target)
                    cursor = {
                        **cursor,
                        "last_pk": str(rows[-1].pk),
                        "rows_scanned": cursor["rows_scanned"] + len(rows),
                        "values_rewrapped": cursor["values_rewrapped"] + changed,
                    }
                else:
                    done = [*cursor["models_done"], label]
                    cursor = {**cursor, "models_done": done, "model": "", "last_pk": ""}
                scanned = cursor["rows_scanned"]
                ctx.save(cursor, done=scanned, total=max(ctx.total, scanned))
    outcome = {
        "target_version": target,
        "rows_scanned": cursor["rows_scanned"],
        "values_rewrapped": cursor["values_rewrapped"],
    }
    if not cursor.get("audited"):
        with ctx.step():
            import audit_mgr as audit

            # With the last cursor, in one transaction: appended once, however often
            # the job is resumed after this point.
            audit.append("key.rewrapped", outcome)
            ctx.save({**cursor, "audited": True})
    return outcome


registry.register(REWRAP, _run, title="Key rewrap")
