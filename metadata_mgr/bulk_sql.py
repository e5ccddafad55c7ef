"""The bulk import's PostgreSQL path: one INSERT per table for a whole batch, each
`INSERT ... SELECT FROM unnest(<one array per column>)`, the four sent in one round trip
(tenancy.db.batch, pipeline mode), and the audit entries queued with the audit log's
own statement builder (`audit_mgr.queue_insert_sql`).

Why not the ORM's bulk_create: for 1,000 records it spends most of its time preparing
values field by field and building model instances (and `append_many` one more instance
per audit entry), about four times the whole import's database time. The rows here
are built from the same validated values (`actions.records.validate_new`) as the ORM
path; the tenant of every row is the context's (`NewRecord.tenant_id`, from
`require_tenant_id`) and RLS checks it again on every row. COPY is not an option:
PostgreSQL refuses COPY FROM into tables with row-level security.
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


def _insert(model, columns) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name, _type in columns)
    arrays = ", ".join(f"%s::{type_}[]" for _name, type_ in columns)
    return f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"


def _arrays(rows: list[tuple]) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)]


def write(tenant_id: int, records: list[tuple], versions: list[tuple], outbox: list[tuple],
          entries: list[tuple]) -> None:  # fmt: skip
    """Rows in the column orders above; `entries` as `audit.queued_values` gives them."""
    from tenancy.db.batch import run_statements

    queue = audit.queue_insert_sql(
        "unnest(%s::varchar[], %s::text[], %s::bigint[], %s::text[]) "
        "AS q(event, actor, at_us, payload)",
        ["q.event", "q.actor", "q.at_us", "q.payload"],
    )
    run_statements(
        connection,
        [
            (_insert(Record, RECORD), _arrays(records)),
            (_insert(RecordVersion, VERSION), _arrays(versions)),
            (_insert(MetadataOutbox, OUTBOX), _arrays(outbox)),
            (queue, [tenant_id, *_arrays(entries)]),
        ],
    )
    audit.sequence_soon(audit.tenant_log(tenant_id))


def tags_json(tags: list) -> str:
    return json.dumps(tags, ensure_ascii=False)
