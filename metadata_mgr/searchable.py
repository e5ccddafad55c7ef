"""What search may index of a record: its "searchable text" (name, content, tags,
owner), and whether it may be indexed at all. Search itself (keyword and semantic, fed
by the outbox `MetadataOutbox`) is built on this.

A sensitive record is never indexed (its content is sealed with the tenant's key and
must not leak into an index, an embedding or a cache); a deleted one neither.
"""

from __future__ import annotations

MAX_TEXT = 20_000  # characters: an embedding model reads far less; keyword search enough


def indexable(record) -> bool:
    return record.deleted_at is None and not record.sensitive


def content_text(value, out: list[str], budget: list[int]) -> None:
    """Keys and scalar values, depth first, in key order (canonical), within budget."""
    if budget[0] <= 0:
        return
    if isinstance(value, dict):
        for key in sorted(value):
            out.append(str(key))
            budget[0] -= len(str(key)) + 1
            content_text(value[key], out, budget)
    elif isinstance(value, list):
        for item in value:
            content_text(item, out, budget)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        out.append(text)
        budget[0] -= len(text) + 1


def searchable_text(record) -> str | None:
    """One line of text for keyword search and embeddings; None when the record must
    not be indexed."""
    if not indexable(record):
        return None
    parts = [record.name, " ".join(record.tags or []), record.owner or ""]
    budget = [MAX_TEXT - sum(len(p) for p in parts)]
    body: list[str] = []
    content_text(record.content, body, budget)
    return " ".join(p for p in [*parts, *body] if p)[:MAX_TEXT]


def searchable_fields(record) -> dict | None:
    """The parts separately, for backends that weigh fields (name above content)."""
    if not indexable(record):
        return None
    body: list[str] = []
    content_text(record.content, body, [MAX_TEXT])
    return {
        "name": record.name,
        "content": " ".join(body)[:MAX_TEXT],
        "tags": list(record.tags or []),
        "owner": record.owner or "",
        "metadata_type": record.metadata_type,
    }
