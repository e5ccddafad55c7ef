"""Writes on records: create, update, soft delete, restore, rollback.

Each runs in the tenant in context, in one transaction: the record, its new version,
its outbox row (for search) and its audit entry commit together or not at all, so a
refused change (any MetadataError) leaves nothing behind. The audit entry names the
record, the version and the changed paths, never values (the log is append-only, and
content may be personal data); for a sensitive record not even the paths.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from metadata_mgr import codec, differ, selectors, validation, versioning
from metadata_mgr.db import database
from metadata_mgr.exceptions import MetadataError, not_found
from metadata_mgr.models import (
    MetadataOutbox,
    OutboxOp,
    Record,
    RecordVersion,
    Subject,
    SubjectVersion,
    VersionOp,
)
from tenancy import quotas
from tenancy.context import require_tenant_id

UNSET = object()
MAX_AUDITED_PATHS = 50


# --- helpers ----------------------------------------------------------------------------


def resolve_subject(subject, version=None) -> tuple[Subject | None, SubjectVersion | None]:
    """(subject, the version to validate against) for a subject name (or row) and an
    optional version number (default: the latest). An unknown subject or version is a
    400 naming it."""
    if subject is None or subject == "":
        if version not in (None, ""):
            raise MetadataError(400, "invalid_subject", "subject_version needs a subject.")
        return None, None
    if not isinstance(subject, Subject):
        name = validation.subject_name(subject)
        subject = Subject.objects.filter(name=name).first()
        if subject is None:
            raise MetadataError(
                400, "unknown_subject", f"No subject {name!r} in this tenant's schema registry."
            )
    found = selectors.subject_version(subject, version if version not in (None, "") else "latest")
    if found is None:
        if version in (None, "", "latest"):
            raise MetadataError(
                400,
                "subject_has_no_version",
                f"Subject {subject.name!r} has no schema version yet: register one first.",
            )
        raise MetadataError(
            400, "unknown_subject_version", f"Subject {subject.name!r} has no version {version}."
        )
    return subject, found


def _conflict(exc: IntegrityError, name: str) -> MetadataError:
    text = str(exc)
    if "uniq_metadata_live_name" in text or "metadata_mgr_record.name" in text:
        return MetadataError(
            409, "name_taken", f"A live record of this tenant is already named {name!r}."
        )
    return MetadataError(
        409, "conflict", "The record was changed concurrently; read it again and retry."
    )


def _derive_name(content: dict, given, metadata_type: str, record_id) -> str:
    if given not in (None, ""):
        return validation.name(given)
    candidate = content.get("name")
    if isinstance(candidate, str) and candidate.strip():
        try:
            return validation.name(candidate)
        except MetadataError:
            pass
    return _fallback_name(metadata_type, record_id)


def _fallback_name(metadata_type: str, record_id) -> str:
    return f"{metadata_type}-{str(record_id)[:8]}"


def _audit(event: str, record: Record, version: RecordVersion | None, actor: str, **more):
    import audit_mgr as audit

    payload = {"record": str(record.pk), "name": record.name, "version": record.version}
    if version is not None:
        payload.update(
            seq=version.seq,
            breaking=version.breaking,
            added=version.added,
            changed=version.changed,
            removed=version.removed,
        )
        if not record.sensitive:
            payload["paths"] = [c["path"] for c in version.changes[:MAX_AUDITED_PATHS]]
    payload.update(more)
    audit.append(event, payload, actor=actor)


def _outbox(record: Record, op: str) -> None:
    MetadataOutbox.objects.create(record_id=record.pk, op=op, version_seq=record.version_seq)


def build_version(
    record: Record, *, seq, major, minor, op, doc, changes, actor, rolled_back_to=None
):
    """An unsaved version of `record` (its tenant and id set; body encoded)."""
    version = RecordVersion(
        record_id=record.pk,
        seq=seq,
        major=major,
        minor=minor,
        label=versioning.label(major, minor),
        op=op,
        rolled_back_to=rolled_back_to,
        breaking=op != VersionOp.CREATE and versioning.breaking(changes),
        actor=actor[:150],
        created_at=record.updated_at,
        **versioning.counts(changes),
    )
    version.tenant_id = record.tenant_id
    payload = {"document": doc, "changes": changes}
    codec.encode_into(version, "body", payload, sensitive=record.sensitive)
    version.__dict__["_payload_cache"] = payload
    return version


def _locked(record_id) -> Record:
    record = selectors.record_for_update(record_id)
    if record is None:
        raise not_found()
    return record


def _live(record: Record) -> None:
    if record.deleted_at is not None:
        raise MetadataError(
            409, "record_deleted", f"Record {record.name!r} is deleted: restore it first."
        )


# --- create -----------------------------------------------------------------------------


@dataclass(slots=True)
class NewRecord:
    """A validated new record, before any row exists: what `prepare_record` turns into
    model instances and the bulk import into table rows."""

    id: uuid.UUID
    tenant_id: int
    metadata_type: str
    name: str
    name_derived: bool  # neither given nor in the content: "<type>-<id prefix>"
    content: dict
    data: bytes  # the content as canonical JSON
    tags: list
    owner: str
    sensitive: bool
    subject: Subject | None
    subject_version: SubjectVersion | None
    actor: str
    now: object

    def document(self) -> dict:
        return versioning.document_of(
            self.name,
            self.content,
            self.tags,
            self.owner,
            self.subject.name if self.subject else None,
            self.subject_version.version if self.subject_version else None,
        )


def validate_new(
    *,
    metadata_type,
    content,
    name=None,
    subject=None,
    subject_version=None,
    tags=None,
    owner=None,
    sensitive: bool = False,
    actor: str = "",
    subjects: dict | None = None,
) -> NewRecord:
    """Every check of a new record (inside the caller's transaction: the subject is
    read here). `subjects` caches resolved subjects across calls (bulk import)."""
    mtype = validation.metadata_type(metadata_type)
    validation.content(content)
    data = codec.canonical(content)
    validation.content_size(data)
    tag_list = validation.tags(tags)
    owner_text = validation.owner(owner)
    if not isinstance(sensitive, bool):
        raise MetadataError(400, "invalid_sensitive", "sensitive must be true or false.")
    cacheable = subjects is not None and all(
        v is None or (isinstance(v, (str, int)) and not isinstance(v, bool))
        for v in (subject, subject_version)
    )
    key = (subject, subject_version)
    if cacheable and key in subjects:
        subj, subj_version = subjects[key]
    else:
        subj, subj_version = resolve_subject(subject, subject_version)
        if cacheable:
            subjects[key] = (subj, subj_version)
    if subj_version is not None:
        validation.conforms(subj_version, content)
    record_id = uuid.uuid4()
    derived = _derive_name(content, name, mtype, record_id)
    return NewRecord(
        id=record_id,
        tenant_id=require_tenant_id("creating a metadata record"),
        metadata_type=mtype,
        name=derived,
        name_derived=derived == _fallback_name(mtype, record_id),
        content=content,
        data=data,
        tags=tag_list,
        owner=owner_text,
        sensitive=sensitive,
        subject=subj,
        subject_version=subj_version,
        actor=actor[:150],
        now=timezone.now(),
    )


def prepare_record(*, subjects: dict | None = None, **fields) -> tuple[Record, RecordVersion]:
    """A new record and its version 1.0, validated and encoded, not saved."""
    return instances_of(validate_new(subjects=subjects, **fields))


def instances_of(new: NewRecord) -> tuple[Record, RecordVersion]:
    record = Record(
        metadata_type=new.metadata_type,
        name=new.name,
        tags=new.tags,
        tag_index=validation.tag_index(new.tags),
        owner=new.owner,
        sensitive=new.sensitive,
        subject=new.subject,
        subject_version=new.subject_version,
        version="1.0",
        version_seq=1,
        created_by=new.actor,
        created_at=new.now,
        updated_at=new.now,
    )
    record.tenant_id = new.tenant_id
    if new.name_derived:  # the id is the field default's, not NewRecord's
        record.name = new.name = _fallback_name(new.metadata_type, record.pk)
    new.id = record.pk
    record.content_bytes = codec.encode_into(
        record, "body", new.content, sensitive=new.sensitive, data=new.data
    )
    record.__dict__["_content_cache"] = (record.__dict__.get("body"), new.content)
    doc = new.document()
    version = build_version(
        record,
        seq=1,
        major=1,
        minor=0,
        op=VersionOp.CREATE,
        doc=doc,
        changes=differ.diff({}, doc),
        actor=new.actor,
    )
    return record, version


def do_create_record(*, actor: str = "", **fields) -> Record:
    """A new record at version 1.0 (fields as `prepare_record`). Refused with a 4xx
    naming the problem: a bad type, content that is not a JSON object or is too large,
    an unknown subject, content violating the subject's schema, a name taken by a live
    record (409)."""
    record = None
    live = Record.objects.filter(deleted_at__isnull=True)
    quotas.enforce("metadata_records", usage=live.count)  # the tier's cap (tenancy/quotas.py)
    try:
        with transaction.atomic(using=database()):
            record, version = prepare_record(actor=actor, **fields)
            record.save(force_insert=True)
            version.save(force_insert=True)
            _outbox(record, OutboxOp.UPSERT)
            _audit("metadata.record.created", record, version, actor, type=record.metadata_type)
    except IntegrityError as exc:
        raise _conflict(exc, record.name if record else "") from None
    return record


# --- update and rollback ----------------------------------------------------------------


def _apply_document(record: Record, doc: dict, subj, subj_version, *, sensitive: bool) -> int:
    record.name = doc["name"]
    record.tags = doc["tags"]
    record.tag_index = validation.tag_index(doc["tags"])
    record.owner = doc["owner"]
    record.subject, record.subject_version = subj, subj_version
    record.sensitive = sensitive
    return codec.encode_into(record, "body", doc["content"], sensitive=sensitive)


def _reseal_versions(record: Record) -> None:
    """A record made sensitive (or no longer): every stored version follows, in the
    same transaction, so no plaintext copy of a sensitive record's history remains."""
    for version in RecordVersion.objects.filter(record_id=record.pk):
        payload = version.payload
        codec.encode_into(version, "body", payload, sensitive=record.sensitive)
        RecordVersion.objects.filter(pk=version.pk).update(body=version.body, codec=version.codec)


def _commit_change(
    record, old_doc, new_doc, subj, subj_version, *, op, actor, sensitive, rolled_back_to=None
):
    """Write the new document as the next version (if it changed anything) and the
    record; returns the version (None when only `sensitive` changed, or nothing)."""
    changes = differ.diff(old_doc, new_doc)
    sensitivity_changed = sensitive != record.sensitive
    if not changes and not sensitivity_changed:
        return None
    record.updated_at = timezone.now()
    record.content_bytes = _apply_document(record, new_doc, subj, subj_version, sensitive=sensitive)
    version = None
    if changes:
        major, minor = versioning.next_number(*versioning.parse(record.version), changes)
        version = build_version(
            record,
            seq=record.version_seq + 1,
            major=major,
            minor=minor,
            op=op,
            doc=new_doc,
            changes=changes,
            actor=actor,
            rolled_back_to=rolled_back_to,
        )
        record.version, record.version_seq = version.label, version.seq
    record.save()
    if sensitivity_changed:
        _reseal_versions(record)
    if version is not None:
        version.save(force_insert=True)
    _outbox(record, OutboxOp.UPSERT)
    event = "metadata.record.rolled_back" if op == VersionOp.ROLLBACK else "metadata.record.updated"
    more = {"sensitive": record.sensitive} if sensitivity_changed else {}
    if rolled_back_to is not None:
        more["rolled_back_to"] = rolled_back_to
    _audit(event, record, version, actor, **more)
    return version


def do_update_record(
    record_id,
    *,
    content=UNSET,
    name=UNSET,
    tags=UNSET,
    owner=UNSET,
    subject=UNSET,
    subject_version=UNSET,
    sensitive=UNSET,
    actor: str = "",
) -> tuple[Record, RecordVersion | None]:
    """Change any of the record's content and attributes; a change of the document
    (content, name, tags, owner, subject) is a new version, numbered by
    `versioning`. Content is validated against the record's subject version, or the
    one named here (`subject_version`, default: the version the record is on; with a
    new `subject`, its latest). Returns the record and its new version (None when
    nothing in the document changed)."""
    if content is not UNSET:
        validation.content(content)
        validation.content_size(codec.canonical(content))
    new_name = validation.name(name) if name is not UNSET else UNSET
    new_tags = validation.tags(tags) if tags is not UNSET else UNSET
    new_owner = validation.owner(owner) if owner is not UNSET else UNSET
    try:
        with transaction.atomic(using=database()):
            record = _locked(record_id)
            _live(record)
            current = record.content
            old_doc = versioning.document(record, current)
            subj, subj_version = record.subject, record.subject_version
            if subject is not UNSET:
                version_ref = None if subject_version is UNSET else subject_version
                subj, subj_version = resolve_subject(subject, version_ref)
            elif subject_version is not UNSET:
                subj, subj_version = resolve_subject(record.subject, subject_version)
            new_doc = {
                **old_doc,
                "content": current if content is UNSET else content,
                "subject": subj.name if subj else None,
                "subject_version": subj_version.version if subj_version else None,
            }
            for key, value in (("name", new_name), ("tags", new_tags), ("owner", new_owner)):
                if value is not UNSET:
                    new_doc[key] = value
            content_or_schema_moved = (
                content is not UNSET or subj_version is not record.subject_version
            )
            if subj_version is not None and content_or_schema_moved:
                validation.conforms(subj_version, new_doc["content"])
            version = _commit_change(
                record,
                old_doc,
                new_doc,
                subj,
                subj_version,
                op=VersionOp.UPDATE,
                actor=actor,
                sensitive=record.sensitive if sensitive is UNSET else bool(sensitive),
            )
    except IntegrityError as exc:
        raise _conflict(exc, new_name if new_name is not UNSET else "") from None
    return record, version


def do_rollback_record(record_id, version_ref, *, actor: str = "") -> tuple[Record, RecordVersion]:
    """A new version equal to version `version_ref` (a seq number, a "major.minor"
    label): the same content, name, tags, owner and subject. A version that does not
    exist is a 404 naming it; a rollback to what the record already holds writes
    nothing and returns the current version."""
    doc: dict = {}
    try:
        with transaction.atomic(using=database()):
            record = _locked(record_id)
            _live(record)
            target = selectors.version_of(record, version_ref)
            doc = target.document
            subj, subj_version = None, None
            if doc.get("subject"):
                subj = Subject.objects.filter(name=doc["subject"]).first()
                subj_version = (
                    selectors.subject_version(subj, doc["subject_version"]) if subj else None
                )
                if subj_version is None:
                    raise MetadataError(
                        409,
                        "subject_missing",
                        f"Version {target.label} conforms to {doc['subject']} "
                        f"v{doc['subject_version']}, which no longer exists.",
                    )
            old_doc = versioning.document(record, record.content)
            version = _commit_change(
                record,
                old_doc,
                doc,
                subj,
                subj_version,
                op=VersionOp.ROLLBACK,
                actor=actor,
                sensitive=record.sensitive,
                rolled_back_to=target.seq,
            )
    except IntegrityError as exc:
        raise _conflict(exc, doc.get("name", "")) from None
    return record, version or selectors.latest_version(record)


# --- delete and restore -----------------------------------------------------------------


def do_delete_record(record_id, *, actor: str = "") -> Record:
    """Soft delete: the record leaves lists and search at once (outbox), keeps its
    versions, and can be restored while its name is free."""
    with transaction.atomic(using=database()):
        record = _locked(record_id)
        if record.deleted_at is not None:
            raise MetadataError(
                409, "already_deleted", f"Record {record.name!r} is already deleted."
            )
        record.deleted_at = record.updated_at = timezone.now()
        record.save(update_fields=["deleted_at", "updated_at"])
        _outbox(record, OutboxOp.DELETE)
        _audit("metadata.record.deleted", record, None, actor)
    return record


def do_restore_record(record_id, *, actor: str = "") -> Record:
    try:
        with transaction.atomic(using=database()):
            record = _locked(record_id)
            if record.deleted_at is None:
                raise MetadataError(409, "not_deleted", f"Record {record.name!r} is not deleted.")
            record.deleted_at = None
            record.updated_at = timezone.now()
            record.save(update_fields=["deleted_at", "updated_at"])
            _outbox(record, OutboxOp.UPSERT)
            _audit("metadata.record.restored", record, None, actor)
    except IntegrityError as exc:
        raise _conflict(exc, record.name) from None
    return record
