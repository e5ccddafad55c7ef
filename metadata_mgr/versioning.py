"""Version numbers and what counts as a breaking change.

A version is the whole *document* of a record: its content and the attributes a reader
relies on. Changes are described over that document, so paths read `/content/...`,
`/name`, `/tags/0`, `/owner`, `/subject`, `/subject_version`.

Numbering is major.minor; the first version is 1.0. A change is **breaking**, and bumps
the major number (2.0, 3.0, ...), when a reader of the previous version could fail on
the new one:
- a path under `/content` is removed (a field readers may use is gone), or
- a value under `/content` changes its JSON type (string to number, object to array, a
  value to null, ...), or
- the record's subject changes (set, removed, or another subject: the content now
  conforms to another contract).
Anything else bumps the minor number: added paths, changed values of the same type, a
new version of the same subject (the registry has checked its compatibility), a new
name, tags or owner.
"""

from __future__ import annotations

from metadata_mgr.differ import ADDED, CHANGED, REMOVED, json_type

CONTENT = "/content"


def document_of(name, content, tags, owner, subject, subject_version) -> dict:
    return {
        "name": name,
        "content": content,
        "tags": list(tags or []),
        "owner": owner,
        "subject": subject,
        "subject_version": subject_version,
    }


def document(record, content) -> dict:
    return document_of(
        record.name,
        content,
        record.tags,
        record.owner,
        record.subject.name if record.subject_id else None,
        record.subject_version.version if record.subject_version_id else None,
    )


def _under_content(path: str) -> bool:
    return path == CONTENT or path.startswith(CONTENT + "/")


def is_breaking(change: dict) -> bool:
    path, op = change["path"], change["op"]
    if path == "/subject":
        return True
    if not _under_content(path):
        return False
    if op == REMOVED:
        return True
    if op == CHANGED:
        return json_type(change["old"]) != json_type(change["new"])
    return False


def breaking(changes: list[dict]) -> bool:
    return any(is_breaking(c) for c in changes)


def next_number(major: int, minor: int, changes: list[dict]) -> tuple[int, int]:
    return (major + 1, 0) if breaking(changes) else (major, minor + 1)


def label(major: int, minor: int) -> str:
    return f"{major}.{minor}"


def parse(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def counts(changes: list[dict]) -> dict:
    return {
        "added": sum(c["op"] == ADDED for c in changes),
        "changed": sum(c["op"] == CHANGED for c in changes),
        "removed": sum(c["op"] == REMOVED for c in changes),
    }
