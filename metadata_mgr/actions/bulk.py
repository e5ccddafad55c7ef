"""Creating many records at once (a bulk import's step): every line is validated as
`do_create_record` validates one (`validate_new`), and the valid ones are written with
one INSERT per table (records, versions, outbox, audit queue): on PostgreSQL by
`bulk_sql` (one statement, one round trip), elsewhere by the ORM's bulk_create. Every refused
line comes back with its reason. Runs inside the caller's transaction (the import's
step), which it never breaks: refusals are found before anything is written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection, router

from metadata_mgr import bulk_sql, codec, differ, validation, versioning
from metadata_mgr.actions.records import MAX_AUDITED_PATHS, NewRecord, instances_of, validate_new
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import MetadataOutbox, OutboxOp, Record, RecordVersion, VersionOp

FIELDS = {
    "metadata_type", "content", "name", "schema_name", "subject", "subject_version", "tags",
    "owner", "sensitive", "tenant_id",
}  # fmt: skip
CREATED = "metadata.record.created"


@dataclass(frozen=True)
class Rejection:
    line: int
    code: str
    reason: str


def parse_line(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise MetadataError(400, "invalid_encoding", "The line is not UTF-8.") from None
    except (ValueError, RecursionError) as exc:
        raise MetadataError(400, "invalid_json", f"The line is not JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise MetadataError(400, "invalid_line", "A line must be a JSON object.")
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise MetadataError(400, "unknown_field", f"Unknown field(s): {', '.join(unknown)}.")
    return value


def _fields(line: dict, tenant_check) -> dict:
    if line.get("tenant_id") is not None:
        tenant_check(line["tenant_id"])
    name, schema_name = line.get("name"), line.get("schema_name")
    if name not in (None, "") and schema_name not in (None, "") and name != schema_name:
        raise MetadataError(400, "invalid_name", "name and schema_name differ: give one.")
    if "metadata_type" not in line:
        raise MetadataError(400, "invalid_type", "metadata_type is required.")
    if "content" not in line:
        raise MetadataError(400, "invalid_content", "content is required.")
    return {
        "metadata_type": line["metadata_type"],
        "content": line["content"],
        "name": name if name not in (None, "") else schema_name,
        "subject": line.get("subject"),
        "subject_version": line.get("subject_version"),
        "tags": line.get("tags"),
        "owner": line.get("owner"),
        "sensitive": line.get("sensitive", False),
    }


def create_many(
    lines: list[tuple[int, bytes]], *, actor: str = "", tenant_check=None
) -> tuple[int, list[Rejection]]:
    """Import `(line number, raw line)` pairs; returns (created, rejections). Blank
    lines are skipped. `tenant_check(ref)` refuses a line naming another tenant."""
    accepted: list[tuple[int, NewRecord]] = []
    rejections: list[Rejection] = []
    subjects: dict = {}
    check = tenant_check or (lambda ref: None)
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            fields = _fields(parse_line(raw), check)
            accepted.append((number, validate_new(actor=actor, subjects=subjects, **fields)))
        except MetadataError as exc:
            rejections.append(Rejection(number, exc.code, exc.message[:500]))
    news = _drop_taken_names(accepted, rejections)
    if news:
        # The SQL path writes through the default connection: a dedicated tenant's
        # rows must go to its own database (the router's choice), so it takes the ORM.
        routed = router.db_for_write(Record)
        if connection.vendor == "postgresql" and routed == DEFAULT_DB_ALIAS:
            _write_sql(news, actor)
        else:
            _write_orm(news, actor)
    rejections.sort(key=lambda r: r.line)
    return len(news), rejections


def _drop_taken_names(accepted, rejections) -> list[NewRecord]:
    """Names must be unique among live records: a name already live, or used by an
    earlier line, refuses the line (one query for the batch)."""
    names = {new.name for _, new in accepted}
    taken = set(
        Record.objects.filter(deleted_at__isnull=True, name__in=names).values_list(
            "name", flat=True
        )
    )
    kept = []
    for number, new in accepted:
        if new.name in taken:
            rejections.append(
                Rejection(number, "name_taken", f"A live record is already named {new.name!r}.")
            )
            continue
        taken.add(new.name)
        kept.append(new)
    return kept


def _audit_payload(new: NewRecord, changes: list[dict]) -> dict:
    payload = {
        "record": str(new.id),
        "name": new.name,
        "version": "1.0",
        "seq": 1,
        "type": new.metadata_type,
        "imported": True,
    }
    if not new.sensitive:
        payload["paths"] = [c["path"] for c in changes[:MAX_AUDITED_PATHS]]
    return payload


def _write_orm(news: list[NewRecord], actor: str) -> None:
    import audit_mgr as audit

    pairs = [instances_of(new) for new in news]
    Record.objects.bulk_create([record for record, _ in pairs])
    RecordVersion.objects.bulk_create([version for _, version in pairs])
    MetadataOutbox.objects.bulk_create(
        [MetadataOutbox(record_id=r.pk, op=OutboxOp.UPSERT, version_seq=1) for r, _ in pairs]
    )
    audit.append_many(
        [
            (CREATED, _audit_payload(new, v.changes))
            for new, (_, v) in zip(news, pairs, strict=True)
        ],
        actor=actor,
    )


def _write_sql(news: list[NewRecord], actor: str) -> None:
    """The rows of `bulk_sql.write`: JSON-ready values (uuids and times as text, bytes
    as hex), built once per record."""
    import audit_mgr as audit

    records, versions, outbox, entries = [], [], [], []
    created = VersionOp.CREATE.value
    upsert = OutboxOp.UPSERT.value
    for new in news:
        tenant, record_id, at = new.tenant_id, str(new.id), new.now.isoformat()
        bound = codec.aad(tenant, "metadata_mgr.record", "body", new.id) if new.sensitive else None
        body, record_codec, size = codec.encode(
            new.content, sensitive=new.sensitive, bound_to=bound, data=new.data
        )
        records.append([
            record_id, tenant, new.metadata_type, new.name, body.hex(), record_codec, size,
            new.subject.pk if new.subject else None,
            new.subject_version.pk if new.subject_version else None,
            new.tags, validation.tag_index(new.tags), new.owner,
            new.sensitive, "1.0", 1, new.actor, at, at,
        ])  # fmt: skip
        doc = new.document()
        changes = differ.diff({}, doc)
        version_id = uuid.uuid4()
        bound = (
            codec.aad(tenant, "metadata_mgr.recordversion", "body", version_id)
            if new.sensitive
            else None
        )
        version_body, version_codec, _size = codec.encode(
            {"document": doc, "changes": changes}, sensitive=new.sensitive, bound_to=bound
        )
        counts = versioning.counts(changes)
        versions.append([
            str(version_id), tenant, record_id, 1, 1, 0, "1.0", created, False,
            counts["added"], counts["changed"], counts["removed"], version_body.hex(),
            version_codec, new.actor, at,
        ])  # fmt: skip
        outbox.append([tenant, record_id, upsert, 1, at])
        entries.append(
            audit.queued_values(CREATED, _audit_payload(new, changes), actor=actor, at=new.now)
        )
    bulk_sql.write(news[0].tenant_id, records, versions, outbox, entries)
