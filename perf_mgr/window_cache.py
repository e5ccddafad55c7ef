"""A window's roll-ups, decoded once per roll-up watermark: what the analytics read.

A day's analytics read ~1,500 hourly roll-ups and decode ~100k sketch entries
(perf_mgr/frame.py); that decoding and the transfer were most of `get_analytics(24)`
(docs/performance.md, "Analytics"). The roll-up rows of a window change only when a
roll-up pass commits, and a pass always moves the tenant's cursor
(`RollupCursor.last_sample_id`, perf_mgr/rollup.py) in the same transaction. So the
decoded roll-up part of a window is kept in this process, keyed by the tenant, the
window's roll-up ranges and series, and the cursor it was read at:

- a miss runs the usual one statement (roll-ups + raw samples above the cursor) plus
  the cursor itself as a sentinel row, all in one snapshot, and keeps the roll-up part;
- a hit runs one statement: the raw samples above the cached cursor plus the current
  cursor. If the cursor moved meanwhile, it is a miss after all. Raw samples above a
  cursor are never deleted (the purge only deletes rolled-up samples), so the cached
  roll-ups plus that tail are exactly what the uncached statement answers.

The purge deletes roll-ups older than the tier's retention without moving the cursor:
a window reaching that far is never cached. Entries are per tenant id and database
alias, and were read under that tenant's row-level security: no reader of another
tenant can reach them (the key is built from the tenant in context). Bounded: a few
windows, least recently used out first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from perf_mgr import policy, query
from perf_mgr.frame import Frame
from perf_mgr.models import HOUR_US, MetricSeries, RollupCursor
from tenancy import db as tenant_db
from tenancy.context import get_current_tenant

MAX_ENTRIES = 16
MAX_SKETCH_ENTRIES = 4_000_000  # ~100 MB of arrays at most, all entries together
SENTINEL = -1  # the series id of the cursor row (series ids are positive)
SERIES_SENTINEL = -2  # ... and of the series row
MAX_TENANTS = 1024  # series lists kept

_lock = threading.Lock()
_entries: OrderedDict = OrderedDict()  # key -> (cursor mark, Frame)
_series: OrderedDict = OrderedDict()  # (alias, tenant id) -> (series mark, [Series])
_stats = {"hits": 0, "misses": 0}


def clear() -> None:
    with _lock:
        _entries.clear()
        _series.clear()


def stats() -> dict:
    with _lock:
        return {**_stats, "entries": len(_entries)}


def _sentinel(tenant_id: int) -> tuple[str, list]:
    """The cursor as one more row: its last sample id and when it moved. The time too:
    an embedded (SQLite) database may reuse the ids of a purged tenant, of its series
    and of its samples, for a new tenant, never a roll-up's microsecond as well."""
    connection = tenant_db.connection_for(tenant_id)
    cursors = connection.ops.quote_name(RollupCursor._meta.db_table)
    if connection.vendor == "postgresql":
        moved = "(extract(epoch FROM max(rolled_at)) * 1000000)::bigint"
    else:
        moved = "max(rolled_at)"
    sql = (
        f"SELECT {SENTINEL}, coalesce(max(last_sample_id), 0), {moved}, 0, 0, 0, NULL "
        f"FROM {cursors} WHERE tenant_id = %s"
    )
    return sql, [tenant_id]


def _series_sentinel(tenant_id: int) -> tuple[str, list]:
    """The tenant's series as one more row: the highest id and how many. Series are
    only ever added (or all purged with the tenant), so these two tell a change."""
    connection = tenant_db.connection_for(tenant_id)
    table = connection.ops.quote_name(MetricSeries._meta.db_table)
    sql = (
        f"SELECT {SERIES_SENTINEL}, coalesce(max(id), 0), count(*), 0, 0, 0, NULL "
        f"FROM {table} WHERE tenant_id = %s"
    )
    return sql, [tenant_id]


def _split(rows: list) -> tuple[tuple, list]:
    """((the cursor's last sample id, when it moved), the other rows)."""
    marks, kept = _split_all(rows)
    return marks.get(SENTINEL, (0, None)), kept


def _split_all(rows: list) -> tuple[dict, list]:
    marks, kept = {}, []
    for row in rows:
        if row[0] in (SENTINEL, SERIES_SENTINEL):
            marks[row[0]] = (int(row[1]), row[2])
        else:
            kept.append(row)
    return marks, kept


def _series_mark(found: list[query.Series]) -> tuple:
    return (max((s.id for s in found), default=0), len(found))


def _cacheable(tenant_id: int, window: query.Window) -> bool:
    """False when the purge may delete roll-ups inside the window (see the docstring)."""
    keep = policy.retention(tenant_id)
    horizon_us = int(min(keep.minute_days, keep.hour_days) * 24 * HOUR_US)
    return window.since_us >= query._now_us() - horizon_us + HOUR_US


def _store(key, mark: tuple, frame: Frame) -> None:
    with _lock:
        _entries[key] = (mark, frame.freeze())
        _entries.move_to_end(key)
        total = sum(len(f.entry_row) for _w, f in _entries.values())
        while len(_entries) > MAX_ENTRIES or (total > MAX_SKETCH_ENTRIES and len(_entries) > 1):
            _old, (_w, dropped) = _entries.popitem(last=False)
            total -= len(dropped.entry_row)


def _key(tenant_id: int, ids: list[int], window: query.Window) -> tuple:
    alias = tenant_db.connection_for(tenant_id).alias
    rollups_sql, rollups_params = query._statement(tenant_id, ids, window, rollups_only=True)
    return (alias, tenant_id, window.since_us, window.step_us, rollups_sql, tuple(rollups_params))


def _hit(tenant_id: int, key: tuple, ids: list[int], window: query.Window, series_mark=None):
    """The cached roll-ups plus the raw tail, read in one statement with the cursor (and
    the series, when `series_mark` is given); None unless both are still as cached."""
    with _lock:
        cached = _entries.get(key)
        if cached is not None:
            _entries.move_to_end(key)
    if cached is None:
        return None
    mark, rolled = cached
    sql, params = query._statement(tenant_id, ids, window, above=mark[0], tail_only=True)
    for extra_sql, extra_params in [_sentinel(tenant_id)] + (
        [_series_sentinel(tenant_id)] if series_mark else []
    ):
        sql, params = f"{sql} UNION ALL {extra_sql}", [*params, *extra_params]
    marks, tail = _split_all(query.run_rows(tenant_id, sql, params))
    if marks.get(SENTINEL, (0, None)) != mark:
        return None
    if series_mark is not None and marks.get(SERIES_SENTINEL) != series_mark:
        return None
    with _lock:
        _stats["hits"] += 1
    return Frame.concat(rolled, Frame(tail, window.since_us, window.step_us))


def series_and_frame(tenant_id: int, window: query.Window) -> tuple[list, Frame]:
    """All the series of the tenant in context (`tenant_id`) and the window's Frame. On
    a hit, one statement: the raw tail, the cursor and the series count (the series list
    is kept too, and re-read as soon as a series is added)."""
    tenant = get_current_tenant()
    if tenant is not None and tenant.id == tenant_id and _cacheable(tenant_id, window):
        alias = tenant_db.connection_for(tenant_id).alias
        with _lock:
            known = _series.get((alias, tenant_id))
        if known is not None and known[1]:
            series_mark, found = known
            ids = [s.id for s in found]
            hit = _hit(tenant_id, _key(tenant_id, ids, window), ids, window, series_mark)
            if hit is not None:
                return list(found), hit
        found = query.find_series()
        with _lock:
            _series[(alias, tenant_id)] = (_series_mark(found), found)
            _series.move_to_end((alias, tenant_id))
            while len(_series) > MAX_TENANTS:
                _series.popitem(last=False)
        return list(found), frame(tenant_id, found, window)
    found = query.find_series()
    return found, frame(tenant_id, found, window)


def frame(tenant_id: int, series: list[query.Series], window: query.Window) -> Frame:
    """The window's Frame for the tenant in context (`tenant_id`): roll-ups and raw
    samples above the cursor, as `query.fetch_rows` reads them."""
    ids = [s.id for s in series]
    if not ids:
        return Frame([], window.since_us, window.step_us)
    tenant = get_current_tenant()
    if tenant is None or tenant.id != tenant_id or not _cacheable(tenant_id, window):
        return Frame(query.fetch_rows(series, window), window.since_us, window.step_us)
    key = _key(tenant_id, ids, window)
    hit = _hit(tenant_id, key, ids, window)
    if hit is not None:
        return hit
    sentinel_sql, sentinel_params = _sentinel(tenant_id)
    with _lock:
        _stats["misses"] += 1
    sql, params = query._statement(tenant_id, ids, window)
    mark, rows = _split(
        query.run_rows(tenant_id, f"{sql} UNION ALL {sentinel_sql}", [*params, *sentinel_params])
    )
    rolled_rows = [row for row in rows if row[6] is not None]
    tail = [row for row in rows if row[6] is None]
    rolled = Frame(rolled_rows, window.since_us, window.step_us)
    if mark[0]:  # nothing rolled up yet: no roll-up rows worth keeping
        _store(key, mark, rolled)
    return Frame.concat(rolled, Frame(tail, window.since_us, window.step_us))
