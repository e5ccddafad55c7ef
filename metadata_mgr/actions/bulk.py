"""Creating many records at once (a bulk import's step): every line is validated as
`do_create_record` validates one, the valid ones are written with one INSERT per table
(records, versions, outbox) and their audit entries with one `append_many`, and every
refused line comes back with its reason. Runs inside the caller's transaction (the
import's step), which it never breaks: refusals are found before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from metadata_mgr.actions.records import MAX_AUDITED_PATHS, prepare_record
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import MetadataOutbox, OutboxOp, Record, RecordVersion

FIELDS = {
    "metadata_type",
    "content",
    "name",
    "schema_name",
    "subject",
    "subject_version",
    "tags",
    "owner",
    "sensitive",
    "tenant_id",
}


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
    prepared: list[tuple[int, Record, RecordVersion]] = []
    rejections: list[Rejection] = []
    subjects: dict = {}
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            fields = _fields(parse_line(raw), tenant_check or (lambda ref: None))
            record, version = prepare_record(actor=actor, subjects=subjects, **fields)
        except MetadataError as exc:
            rejections.append(Rejection(number, exc.code, exc.message[:500]))
            continue
        prepared.append((number, record, version))
    prepared = _drop_taken_names(prepared, rejections)
    if prepared:
        Record.objects.bulk_create([record for _, record, _ in prepared])
        RecordVersion.objects.bulk_create([version for _, _, version in prepared])
        MetadataOutbox.objects.bulk_create(
            [
                MetadataOutbox(record_id=r.pk, op=OutboxOp.UPSERT, version_seq=1)
                for _, r, _ in prepared
            ]
        )
        _audit_many([(record, version) for _, record, version in prepared], actor)
    rejections.sort(key=lambda r: r.line)
    return len(prepared), rejections


def _drop_taken_names(prepared, rejections) -> list:
    """Names must be unique among live records: a name already live, or used by an
    earlier line, refuses the line (one query for the batch)."""
    names = [record.name for _, record, _ in prepared]
    taken = set(
        Record.objects.filter(deleted_at__isnull=True, name__in=set(names)).values_list(
            "name", flat=True
        )
    )
    kept = []
    for number, record, version in prepared:
        if record.name in taken:
            rejections.append(
                Rejection(number, "name_taken", f"A live record is already named {record.name!r}.")
            )
            continue
        taken.add(record.name)
        kept.append((number, record, version))
    return kept


def _audit_many(pairs, actor: str) -> None:
    import audit_mgr as audit

    items = []
    for record, version in pairs:
        payload = {
            "record": str(record.pk),
            "name": record.name,
            "version": record.version,
            "seq": 1,
            "type": record.metadata_type,
            "imported": True,
        }
        if not record.sensitive:
            payload["paths"] = [c["path"] for c in version.changes[:MAX_AUDITED_PATHS]]
        items.append(("metadata.record.created", payload))
    audit.append_many(items, actor=actor)
