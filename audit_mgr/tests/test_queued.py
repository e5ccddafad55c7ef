"""The audit queue's columns are spelled once (audit_mgr.queued): they must be the
pending models' own, and a caller's statement must give one value per column."""

import pytest

from audit_mgr.models import PendingAuditEntry, PlatformPendingEntry
from audit_mgr.queued import COLUMN_NAMES, queue_insert_sql, queued_values


@pytest.mark.parametrize("model", [PendingAuditEntry, PlatformPendingEntry])
def test_queue_columns_are_the_pending_models_columns(model):
    columns = [f.column for f in model._meta.concrete_fields]
    assert [c for c in columns if c not in ("id", "tenant_id")] == COLUMN_NAMES


def test_queue_insert_sql_names_every_column_and_refuses_a_missing_value():
    sql = queue_insert_sql("created", ["$1", "$2", "$3", "$4"], tenant="tenant_id")
    assert sql.startswith(f"INSERT INTO {PendingAuditEntry._meta.db_table!r}".replace("'", '"'))
    assert "SELECT tenant_id, $1, $2, $3, $4 FROM created" in sql
    with pytest.raises(ValueError, match="needs 4 values"):
        queue_insert_sql("created", ["$1", "$2", "$3"])


def test_queued_values_are_canonical_and_refuse_what_json_cannot_carry():
    import datetime as dt

    at = dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert queued_values("e", {"b": 1, "a": 2}, actor="x", at=at) == (
        "e",
        "x",
        10**6,
        '{"a":2,"b":1}',
    )
    with pytest.raises(ValueError):
        queued_values("e", {"n": float("nan")}, at=at)
