"""The bulk import's PostgreSQL path: ONE statement per batch. The rows of the four
tables travel as four JSON documents (arrays of rows) and a data-modifying CTE inserts
them: records, versions, outbox rows, and the audit entries queued with the audit log's
own statement builder (`audit_mgr.queue_insert_sql`). All or nothing, one round trip.

Why not the ORM's bulk_create: for 1,000 records it spends most of its time preparing
values field by field and building model instances (and `append_many` one more instance
per audit entry), about four times the whole import's database time. Why JSON rather
than one array per column (`unnest`): psycopg dumps text and bytea arrays element by
element through a regular expression (escaping), which cost more than everything else
of the write; `json.dumps` of the batch is one C call, and the server unpacks it
(`jsonb_array_elements`). Byte columns travel as hex. The rows are built from the same
validated values (`actions.records.validate_new`) as the ORM path; the tenant of every
row is the context's (`NewRecord.tenant_id`, from `require_tenant_id`) and RLS checks it
again on every row. COPY is not an option: PostgreSQL refuses COPY FROM into tables
with row-level security. Foreign keys (a version's record) are checked at the end of
the statement, when every CTE has run.
"""

from __future__ import annotations

import json

from django.db import connection

import audit_mgr as audit
from metadata_mgr.models import MetadataOutbox, Record, RecordVersion

RECORD = [
    ("id", "uuid"), ("tenant_id", "bigint"), ("metadata_type", "varchar"), ("name", "varchar"),
    ("body", "bytea"), ("codec", "smallint"), ("content_bytes", "integer"),
    ("subject_id", "bigint"), ("subject_version_id", "bigint"), ("tags", "jsonb"),
    ("tag_index", "text"), ("owner", "varchar"), ("sensitive", "boolean"),
    ("version", "varchar"), ("version_seq", "integer"), ("created_by", "varchar"),
    ("created_at", "timestamptz"), ("updated_at", "timestamptz"),
]  # fmt: skip
VERSION = [
    ("id", "uuid"), ("tenant_id", "bigint"), ("record_id", "uuid"), ("seq", "integer"),
    ("major", "integer"), ("minor", "integer"), ("label", "varchar"), ("op", "varchar"),
    ("breaking", "boolean"), ("added", "integer"), ("changed", "integer"),
    ("removed", "integer"), ("body", "bytea"), ("codec", "smallint"), ("actor", "varchar"),
    ("created_at", "timestamptz"),
]  # fmt: skip
OUTBOX = [
    ("tenant_id", "bigint"), ("record_id", "uuid"), ("op", "varchar"),
    ("version_seq", "integer"), ("created_at", "timestamptz"),
]  # fmt: skip


def _value(index: int, type_: str) -> str:
    if type_ == "bytea":
        return f"decode(r->>{index}, 'hex')"
    if type_ == "jsonb":
        return f"r->{index}"
    return f"(r->>{index})::{type_}"


def _insert(model, columns) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name, _type in columns)
    values = ", ".join(_value(i, type_) for i, (_name, type_) in enumerate(columns))
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
        f"SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS j(r)"
    )


def _statement() -> str:
    queue = audit.queue_insert_sql(
        "(SELECT r->>0 AS event, r->>1 AS actor, (r->>2)::bigint AS at_us, r->>3 AS payload "
        "FROM jsonb_array_elements(%s::jsonb) AS j(r)) AS q",
        ["q.event", "q.actor", "q.at_us", "q.payload"],
    )
    return (
        f"WITH new_records AS ({_insert(Record, RECORD)}), "
        f"new_versions AS ({_insert(RecordVersion, VERSION)}), "
        f"new_outbox AS ({_insert(MetadataOutbox, OUTBOX)}) {queue}"
    )


def write(tenant_id: int, records: list[list], versions: list[list], outbox: list[list],
          entries: list[tuple]) -> None:  # fmt: skip
    """Rows as JSON-ready lists in the column orders above (uuids and times as text,
    bytes as hex, tags as a list); `entries` as `audit.queued_values` gives them."""
    params = [_json(records), _json(versions), _json(outbox), tenant_id, _json(entries)]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
    audit.sequence_soon(audit.tenant_log(tenant_id))


def _json(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
