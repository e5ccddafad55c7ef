"""Reads of the metadata manager, always through the scoped managers (another tenant's
record, subject or version is simply not there). Nothing here writes."""

from __future__ import annotations

import re
import uuid

from metadata_mgr import differ, versioning
from metadata_mgr.backends import document_store
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import MetadataOutbox, Record, RecordVersion, Subject, SubjectVersion

LABEL = re.compile(r"^([0-9]{1,9})\.([0-9]{1,9})$")
SEQ = re.compile(r"^[0-9]{1,9}$")
DELETED_CHOICES = ("0", "1", "all")


def as_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def records(
    *,
    metadata_type: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
    subject: str | None = None,
    deleted: str = "0",
):
    """The tenant's records, newest change first. `deleted`: "0" live only (default),
    "1" deleted only, "all" both."""
    queryset = Record.objects.select_related("subject", "subject_version")
    if deleted == "0":
        queryset = queryset.filter(deleted_at__isnull=True)
    elif deleted == "1":
        queryset = queryset.filter(deleted_at__isnull=False)
    if metadata_type:
        queryset = queryset.filter(metadata_type=metadata_type)
    if tag:
        queryset = queryset.filter(tag_index__contains=f"|{tag}|")
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if subject:
        queryset = queryset.filter(subject__name=subject)
    return queryset.order_by("-updated_at", "id")


def get_record(record_id) -> Record | None:
    """The record; with an external document store its content is read from there
    (content.record_content), so the row's body is loaded only if the store is behind."""
    key = as_uuid(record_id)
    if key is None:
        return None
    queryset = Record.objects.select_related("subject", "subject_version")
    if document_store().external:
        queryset = queryset.defer("body")
    return queryset.filter(pk=key).first()


def record_for_update(record_id) -> Record | None:
    key = as_uuid(record_id)
    if key is None:
        return None
    return (
        Record.objects.select_for_update(of=("self",))
        .select_related("subject", "subject_version")
        .filter(pk=key)
        .first()
    )


def versions_of(record: Record):
    return RecordVersion.objects.filter(record_id=record.pk).order_by("-seq")


def latest_version(record: Record) -> RecordVersion | None:
    return versions_of(record).first()


def _version_filter(ref) -> dict:
    """{"seq": n} or {"major": m, "minor": n} for a reference: a version number (seq:
    1, 2, ...), a "major.minor" label, or "latest". Anything else is a 400."""
    text = str(ref).strip() if isinstance(ref, (str, int)) and not isinstance(ref, bool) else ""
    if SEQ.match(text):
        return {"seq": int(text)}
    found = LABEL.match(text)
    if found:
        return {"major": int(found.group(1)), "minor": int(found.group(2))}
    raise MetadataError(
        400,
        "invalid_version",
        f"A version is a number (1, 2, ...), a major.minor label (1.0) or 'latest', not {ref!r}.",
    )


def version_of(record: Record, ref) -> RecordVersion:
    """The record's version `ref`; a missing one is a 404 that names it (the record is
    the caller's own: saying which versions exist reveals nothing)."""
    if str(ref).strip() == "latest":
        found = latest_version(record)
    else:
        found = versions_of(record).filter(**_version_filter(ref)).first()
    if found is None:
        raise MetadataError(
            404,
            "version_not_found",
            f"Record {record.name!r} has no version {ref}: its versions are 1 to "
            f"{record.version_seq} (labels 1.0 to {record.version}).",
        )
    return found


def diff_versions(record: Record, from_ref, to_ref) -> dict:
    """The change description from one version to another, in either direction."""
    old, new = version_of(record, from_ref), version_of(record, to_ref)
    changes = differ.diff(old.document, new.document)
    return {
        "record": str(record.pk),
        "from": {"seq": old.seq, "label": old.label},
        "to": {"seq": new.seq, "label": new.label},
        "breaking": versioning.breaking(changes),
        "changes": changes,
        **versioning.counts(changes),
    }


# --- the registry -----------------------------------------------------------------------


def subjects():
    return Subject.objects.order_by("name")


def get_subject(name: str) -> Subject | None:
    if not isinstance(name, str) or not name:
        return None
    return Subject.objects.filter(name=name).first()


def subject_versions(subject: Subject):
    return SubjectVersion.objects.filter(subject=subject).order_by("version")


def subject_version(subject: Subject, ref) -> SubjectVersion | None:
    """Version `ref` of the subject: a number, or "latest"; None when there is none."""
    versions = SubjectVersion.objects.select_related("subject").filter(subject=subject)
    if ref in (None, "latest", "", -1):
        return versions.order_by("-version").first()
    text = str(ref).strip() if isinstance(ref, (str, int)) and not isinstance(ref, bool) else ""
    if not SEQ.match(text):
        raise MetadataError(
            400, "invalid_version", f"A schema version is a number or 'latest', not {ref!r}."
        )
    return versions.filter(version=int(text)).first()


def records_of_subject(subject: Subject):
    """The subject's live records (the open-content-aware check and evolution read
    their content)."""
    return Record.objects.filter(subject=subject, deleted_at__isnull=True).order_by("pk")


# --- for search -------------------------------------------------------------------------


def outbox_batch(after_id: int = 0, limit: int = 500) -> list[MetadataOutbox]:
    """The next outbox rows after `after_id`, oldest first (the search indexer's feed)."""
    return list(MetadataOutbox.objects.filter(id__gt=after_id).order_by("id")[:limit])
