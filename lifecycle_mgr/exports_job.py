"""The export job (jobs_mgr kind `lifecycle.export`): a tenant's data, or one user's,
written piece by piece into an encrypted archive (format: `exports_archive`).

Each job step writes one piece (up to `LIFECYCLE_EXPORT_BATCH` rows of one model as JSON
Lines) and the checkpoint that says where the next piece starts (model, last primary
key, position, the hashes so far) in one transaction: a worker killed mid-step leaves
the previous checkpoint, and the next worker writes that piece again, once. The models
are every `TenantScopedModel` of the app registry (a model a later issue adds is
exported without new code), less the export's own pieces and secrets no subject should
receive back (second-factor secrets, wrapped data keys). The last steps add the audit
inclusion proofs and the manifest, and make the archive ready."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

import audit_mgr as audit
from audit_mgr.actions import record_event
from audit_mgr.models import AuditEntry
from audit_mgr.security_events import SecurityEvent
from jobs_mgr import registry
from jobs_mgr.engine import JobContext
from lifecycle_mgr import exports_archive as fmt
from lifecycle_mgr.gdpr_models import ExportArchive, ExportChunk, ExportState
from tenancy import hooks
from tenancy.models import Membership
from tenancy.models.scoped import scoped_models

KIND = "lifecycle.export"

#: Never exported: the archives themselves, key material, second-factor secrets, and the
#: log's internal tree (the entries are exported; the proofs say how to check them).
EXCLUDED = frozenset(
    {
        "lifecycle_mgr.ExportChunk",
        "security_mgr.DataKey",
        "security_mgr.TOTPDevice",
        "security_mgr.BackupCode",
        "sessions_mgr.SessionKeyVersion",
        "audit_mgr.AuditNode",
        "audit_mgr.PendingAuditEntry",
        "audit_mgr.AuditLogHead",
    }
)


def batch_size() -> int:
    return int(getattr(settings, "LIFECYCLE_EXPORT_BATCH", 20_000))


def link_ttl() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "LIFECYCLE_EXPORT_LINK_SECONDS", 86_400)))


def proof_limit() -> int:
    return int(getattr(settings, "LIFECYCLE_EXPORT_PROOFS", 200))


def exported_models() -> list:
    excluded = EXCLUDED | set(getattr(settings, "LIFECYCLE_EXPORT_EXCLUDE", ()))
    return sorted(
        (m for m in scoped_models() if m._meta.label not in excluded),
        key=lambda m: m._meta.label,
    )


def _user_filter(model, user_id: int) -> Q | None:
    """The rows of `model` about the user: a foreign key to the account, or (security
    events) the user's id by reference. None: the model holds nothing of theirs."""
    if model is SecurityEvent:
        return Q(user_id_ref=user_id)
    user_model = get_user_model()
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if f.is_relation and f.many_to_one and f.related_model is user_model
    ]
    if not names:
        return None
    query = Q()
    for name in names:
        query |= Q(**{name: user_id})
    return query


def rows_of(model, user_id: int | None):
    rows = model._base_manager.all()
    if user_id is None:
        return rows
    query = _user_filter(model, user_id)
    return rows.filter(query) if query is not None else None


def plan(user_id: int | None) -> list[str]:
    return [m._meta.label for m in exported_models() if rows_of(m, user_id) is not None]


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (memoryview, bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, (decimal.Decimal, uuid.UUID, dt.timedelta)):
        return str(value)
    return repr(value)


def jsonl(names: list[str], rows) -> bytes:
    dumps = json.JSONEncoder(default=_json_default, separators=(",", ":")).encode
    return "".join(dumps(dict(zip(names, row, strict=True))) + "\n" for row in rows).encode()


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


class _Writer:
    """Seals a piece, stores it and stages the checkpoint, inside the caller's step."""

    def __init__(self, ctx: JobContext, export: ExportArchive, key: bytes):
        self.ctx, self.export, self.key = ctx, export, key
        self.cursor = ctx.checkpoint

    def write(self, name: str, plain: bytes, rows: int = 0) -> None:
        position = self.cursor["position"]
        body = fmt.seal(self.key, self.export.pk, position, name, plain)
        ExportChunk.objects.create(export=self.export, position=position, name=name, body=body)
        entry = self.cursor["files"].setdefault(name, {"rows": 0, "pieces": []})
        entry["rows"] += rows
        entry["pieces"].append(hashlib.sha256(plain).hexdigest())
        self.cursor["position"] = position + 1
        self.cursor["bytes"] = self.cursor.get("bytes", 0) + len(plain)


def _plain_fields(model) -> bool:
    """`values_list()` gives what the subject should read unless a field converts its
    database value itself outside Django (the encrypted fields hand out a sealed value,
    opened on the model instance only)."""
    return all(
        type(f).__module__.startswith("django.") or not hasattr(f, "from_db_value")
        for f in model._meta.concrete_fields
    )


def _readable(obj, attname: str):
    try:
        return getattr(obj, attname)
    except Exception:  # noqa: BLE001  (a shredded or unreadable value: say so, go on)
        return "<unreadable>"


def _batch(model, rows, fields: list[str], size: int) -> list[tuple]:
    if _plain_fields(model):
        return list(rows.values_list(*fields)[:size])
    return [tuple(_readable(obj, name) for name in fields) for obj in rows[:size]]


def _next_piece(writer: _Writer, user_id: int | None, size: int) -> int:
    """Write the next piece of the current model; the rows written (0: model done)."""
    cursor = writer.cursor
    model = _model(cursor["plan"][cursor["model"]])
    fields = [f.attname for f in model._meta.concrete_fields]
    rows = rows_of(model, user_id).order_by("pk")
    if cursor["after"] is not None:
        rows = rows.filter(pk__gt=cursor["after"])
    batch = _batch(model, rows, fields, size)
    if batch:
        writer.write(f"{model._meta.label}.jsonl", jsonl(fields, batch), rows=len(batch))
        last = batch[-1][fields.index(model._meta.pk.attname)]
        cursor["after"] = last if isinstance(last, int) else _json_default(last)
    if len(batch) < size:
        cursor["model"] += 1
        cursor["after"] = None
    return len(batch)


def _account(user_id: int) -> bytes:
    user = get_user_model()._base_manager.filter(pk=user_id).first()
    if user is None:
        return b"{}"
    memberships = list(
        Membership.objects.filter(user_id=user_id, tenant_id=_tenant_id()).values(
            "role", "created_at"
        )
    )
    account = {
        "id": user.pk,
        "username": user.get_username(),
        "email": getattr(user, "email", ""),
        "first_name": getattr(user, "first_name", ""),
        "last_name": getattr(user, "last_name", ""),
        "date_joined": getattr(user, "date_joined", None),
        "last_login": getattr(user, "last_login", None),
        "memberships": memberships,
    }
    return json.dumps(account, default=_json_default, indent=1).encode()


def _tenant_id() -> int:
    from tenancy.context import require_tenant_id

    return require_tenant_id("an export")


def proofs(user_id: int | None) -> dict:
    """The tenant's signed tree head and, checked against it, inclusion proofs of the
    latest entries (a user's export: the entries that user made)."""
    log = audit.tenant_log()
    head = audit.sign_tree_head()
    entries = AuditEntry.objects.filter(seq__lt=head.tree_size)
    if user_id is not None:
        user = get_user_model()._base_manager.filter(pk=user_id).first()
        entries = entries.filter(actor=user.get_username() if user else "\0")
    chosen = list(entries.order_by("-seq").values_list("seq", "event")[: proof_limit()])
    return {
        "log": log.label,
        "tree_head": {
            "tree_size": head.tree_size,
            "root_hash": bytes(head.root_hash).hex(),
            "signed_at": head.signed_at.isoformat(),
            "key_id": head.key_id,
            "ed25519": bytes(head.sig_ed25519).hex(),
            "ml_dsa_65": bytes(head.sig_mldsa65).hex(),
        },
        "inclusion": [
            {"event": event, **audit.prove_inclusion(log, seq, head.tree_size)}
            for seq, event in reversed(chosen)
        ],
    }


def _start(ctx: JobContext, user_id: int | None) -> dict:
    labels = plan(user_id)
    total = sum(rows_of(_model(label), user_id).count() for label in labels)
    return {
        "plan": labels,
        "model": 0,
        "after": None,
        "position": 0,
        "files": {},
        "bytes": 0,
        "done": 0,
        "total": total,
        "stage": "rows",
    }


def _finish(writer: _Writer, user_id: int | None) -> None:
    cursor, export = writer.cursor, writer.export
    if user_id is not None:
        writer.write("account.json", _account(user_id), rows=1)
    writer.write(fmt.PROOFS, json.dumps(proofs(user_id), indent=1).encode())
    files = {
        name: {"rows": e["rows"], "pieces": e["pieces"], "sha256": fmt.file_digest(e["pieces"])}
        for name, e in cursor["files"].items()
    }
    manifest = {
        "format": 1,
        "export": export.pk,
        "tenant": export.tenant_id,
        "scope": "tenant" if user_id is None else f"user:{user_id}",
        "cipher": fmt.CIPHER,
        "created_at": timezone.now().isoformat(),
        "counts": {name: e["rows"] for name, e in files.items() if name.endswith(".jsonl")},
        "files": files,
    }
    writer.write(fmt.MANIFEST, json.dumps(manifest, indent=1).encode())
    now = timezone.now()
    export.manifest = manifest
    export.size_bytes = cursor["bytes"]
    export.state = ExportState.READY
    export.ready_at, export.expires_at = now, now + link_ttl()
    export.save(update_fields=["manifest", "size_bytes", "state", "ready_at", "expires_at"])
    record_event(
        "lifecycle.export_ready",
        {"export": export.pk, "scope": manifest["scope"], "counts": manifest["counts"]},
        actor=writer.ctx.job.requested_by or "system:export",
    )


def open_key(export: ExportArchive) -> bytes:
    return hooks.open_tenant_value.call(bytes(export.sealed_key), key_aad(export))


def key_aad(export: ExportArchive) -> bytes:
    return f"lifecycle.export:{export.tenant_id}:{export.pk}".encode()


def _run(ctx: JobContext) -> dict:
    export = ExportArchive.objects.get(pk=ctx.params["export"])
    user_id = ctx.params.get("user")
    key = open_key(export)
    size = int(ctx.options.get("batch_size") or batch_size())
    if not ctx.checkpoint:
        with ctx.step():
            start = _start(ctx, user_id)
            ctx.save(start, done=0, total=start["total"])
    writer = _Writer(ctx, export, key)
    while writer.cursor["stage"] == "rows":
        with ctx.step():
            writer.cursor = json.loads(json.dumps(ctx.checkpoint))  # a copy to stage
            if writer.cursor["model"] >= len(writer.cursor["plan"]):
                _finish(writer, user_id)
                writer.cursor["stage"] = "done"
            else:
                # Empty models are skipped within the step: one step, one piece.
                while writer.cursor["model"] < len(writer.cursor["plan"]):
                    written = _next_piece(writer, user_id, size)
                    writer.cursor["done"] += written
                    if written:
                        break
            # Rows may arrive while the export runs (its own audit entries, say): the
            # total counted at the start grows with them, so progress never passes 100 %.
            writer.cursor["total"] = max(writer.cursor["total"], writer.cursor["done"])
            ctx.save(writer.cursor, done=writer.cursor["done"], total=writer.cursor["total"])
    return {"export": export.pk, "bytes": writer.cursor["bytes"], "done": writer.cursor["done"]}


registry.register(KIND, _run, title="GDPR export")
