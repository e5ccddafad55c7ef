"""Appending: a queue in the caller's transaction, and a sequencer that numbers it.

`append()` inserts a pending row in the caller's transaction: one INSERT, no lock. The
entry therefore exists exactly when the audited action commits, and audited actions of
one tenant no longer wait for each other. The sequencer (`sequence_pending`) takes the
log's sequencing lock, takes (deletes) the pending rows in id order, assigns their seq,
computes leaves, roots and the completed subtree nodes, inserts the entries and nodes
and moves the head, all in one transaction per batch (statements in `store`).

It runs (a) after the appending transaction commits: by default (`deferred`) in a
worker, asked at most once a second per log and process (`sequence_soon`), so an audited
transaction pays one INSERT and nothing after its commit; with
`SECURITY_AUDIT_SEQUENCING=commit`, in the committing process before it returns
(`on_commit`, blocking on the lock, so transactions that commit meanwhile form the next
batch); (b) from beat as a safety net (`tasks.sweep_pending_audit_task`); and (c)
before every reader that must see the whole log (proofs of the current tree, signing a
tree head, verification, the entries API). Called outside any transaction, `append()`
is one autocommit INSERT in deferred mode; in commit mode it inserts and sequences in
one transaction and returns the entry itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from contextlib import nullcontext

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Min
from django.utils import timezone

from audit_mgr import merkle, store
from audit_mgr.exceptions import AuditError
from audit_mgr.logs import (
    EPOCH,
    Log,
    canonical_payload,
    data_from_parts,
    log_of,
    micros,
    tenant_log,
)
from tenancy import context, resettable

SEQUENCE_BATCH = 1000  # pending rows per sequencing transaction
CHECK_IDS = 1000  # a bigger transaction skips the "already sequenced?" check


def _sequence_batch(audit_log: Log, limit: int, *, locked: bool = False):
    """Sequence up to `limit` pending rows, in id order, inside the current transaction;
    returns the new entries' ids and rows (see `store.write_batch`). Takes the log's
    lock unless the caller holds it."""
    pending, size, frontier = store.take_batch(audit_log, limit, locked=locked)
    if not pending:
        return [], []  # nothing written: no transaction id, no WAL flush at commit
    entries, nodes = [], []
    for pending_id, event, actor, at_us, payload in pending:
        data = data_from_parts(audit_log.label, size, event, actor, at_us, payload)
        leaf = merkle.leaf_hash(data.encode())
        frontier, completed = merkle.frontier_append_nodes(frontier, size, leaf)
        nodes += completed
        at = EPOCH + dt.timedelta(microseconds=at_us)
        root = merkle.frontier_root(frontier)
        entries.append((size, event, actor[:150], at, data, leaf, root, pending_id))
        size += 1
    return store.write_batch(audit_log, entries, nodes, size, frontier), entries


def _loaded(audit_log: Log, model, values: dict):
    """The model instance of a row just written, as the ORM would have loaded it."""
    if audit_log.tenant_id is not None:
        values["tenant_id"] = audit_log.tenant_id
    names = _attnames(model)
    return model.from_db(
        store.connection_for(audit_log).alias, names, [values[name] for name in names]
    )


@functools.cache
def _attnames(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _entry(audit_log: Log, row_id: int, row: tuple):
    names = ["id", *store.ENTRY_COLUMNS, "pending_id"]
    return _loaded(audit_log, audit_log.entry_model, dict(zip(names, (row_id, *row), strict=True)))


def drain_locked(audit_log: Log, limit: int = SEQUENCE_BATCH) -> list:
    """Sequence every pending row visible now; the caller holds the log's lock."""
    done = []
    while True:
        ids, rows = _sequence_batch(audit_log, limit, locked=True)
        done += [_entry(audit_log, row_id, row) for row_id, row in zip(ids, rows, strict=True)]
        if len(rows) < limit:
            return done


def sequence_pending(audit_log: Log | None = None, *, limit: int = SEQUENCE_BATCH) -> int:
    """Sequence the log's pending rows, a batch per transaction, until none is left.
    Returns how many were sequenced. Inside a transaction it works in that transaction
    (and holds the log's lock until it ends); outside, each batch commits on its own."""
    audit_log = audit_log or tenant_log()
    store.check_scope(audit_log)
    total = 0
    while True:
        with transaction.atomic(using=store.connection_for(audit_log).alias):
            _ids, rows = _sequence_batch(audit_log, limit)  # a count is all we need
        total += len(rows)
        if len(rows) < limit:
            return total


flush = sequence_pending


def _context_for(audit_log: Log):
    if audit_log.tenant_id is None:
        return context.no_tenant()  # platform tables are unscoped
    current = context.get_current_tenant()
    ref = current if current and current.id == audit_log.tenant_id else None
    return context.tenant_context(ref or context.TenantRef.for_id(audit_log.tenant_id))


def sequencing_mode() -> str:
    """`deferred` (default): an audited transaction only INSERTs; a worker numbers its
    entries within about a second. `commit`: the committing process numbers them right
    after its commit, before it returns (a smaller window before the entry is in the
    tree, at about a millisecond per audited transaction)."""
    return getattr(settings, "SECURITY_AUDIT_SEQUENCING", DEFERRED)


COMMIT, DEFERRED = "commit", "deferred"
MODES = (COMMIT, DEFERRED)


class _SequenceAfterCommit:
    """The on_commit callback of one log: sequence it now, in that log's tenant context
    (the commit may happen after the caller left it), or, deferred, ask a worker to.
    Equal for the same log and mode, so that a transaction appending many entries
    registers it once; it carries the ids it appended, so that when another
    committer's sequencer already took them (the usual case under load: group commit)
    it finds out with one query, without the lock."""

    def __init__(self, audit_log: Log, ids, *, deferred: bool):
        self.log = audit_log
        self.ids = set(ids)
        self.deferred = deferred

    def __eq__(self, other):
        return (
            isinstance(other, _SequenceAfterCommit)
            and other.log.label == self.log.label
            and other.deferred == self.deferred
        )

    def __hash__(self):
        return hash((self.log.label, self.deferred))

    def __call__(self):
        if self.deferred and _asked_recently(self.log):
            return  # a task already on its way runs after this commit: it takes these rows
        with _context_for(self.log):
            if self.deferred:
                _ask_worker(self.log)
                return
            ids = sorted(self.ids)
            if 0 < len(ids) <= CHECK_IDS and not store.any_pending(self.log, ids):
                return
            sequence_pending(self.log)


def _sequence_on_commit(audit_log: Log, using: str, ids, *, deferred: bool) -> None:
    callback = _SequenceAfterCommit(audit_log, ids, deferred=deferred)
    connection = connections[using]
    savepoints = set(connection.savepoint_ids)
    for sids, func, _robust in connection.run_on_commit:
        # Registered outside every savepoint we are in: whatever rolls that callback
        # back rolls our rows back too, so it still covers us.
        if func == callback and sids <= savepoints:
            func.ids.update(callback.ids)
            return
    # robust: the audited action has committed; a failing sequencer must not turn it
    # into an error. Its rows stay pending for the next trigger (beat at the latest).
    transaction.on_commit(callback, using=using, robust=True)


# Per log (tenant id): when this process may ask a worker again (time.monotonic()).
_asked: dict[int | None, float] = {}
resettable.register(_asked.clear, name="audit_mgr.sequencer._asked")
SOON_SECONDS = 1.0
BROKER_DOWN_SECONDS = 30.0  # after a failed send: the sweep and the readers catch up
log = logging.getLogger("dim.audit")


def _asked_recently(audit_log: Log) -> bool:
    if time.monotonic() >= _asked.get(audit_log.tenant_id, float("-inf")):
        return False
    from celery import current_app

    return not current_app.conf.task_always_eager


# The tasks a worker runs for `_ask_worker` (audit_mgr/tasks.py declares them under
# these names). Looked up by name, so that this module never imports the tasks module,
# which imports this one.
SEQUENCE_TASK = "audit_mgr.tasks.sequence_pending_audit_task"
SEQUENCE_PLATFORM_TASK = "audit_mgr.tasks.sequence_platform_pending_audit_task"


def _ask_worker(audit_log: Log) -> None:
    """Have a worker sequence the log about a second from now, asked at most once a
    second per log and process, so that one task serves every entry of that second.
    (Eager Celery runs the task here and now, so it is asked every time.) The beat
    sweep and every reader remain the safety net."""
    from celery import current_app

    if _asked_recently(audit_log):
        return
    _asked[audit_log.tenant_id] = time.monotonic() + SOON_SECONDS
    name = SEQUENCE_TASK if audit_log.tenant_id is not None else SEQUENCE_PLATFORM_TASK
    try:
        # The registered task (not send_task): eager Celery then runs it here, and the
        # tenant is stamped by the publish guard either way.
        current_app.tasks[name].apply_async(countdown=SOON_SECONDS, retry=False)
    except Exception as exc:  # noqa: BLE001  (the sweep and the readers catch up)
        # A failed send takes the broker's connection timeout: with the broker down,
        # audited commits must not each wait for it. Try again in a while.
        _asked[audit_log.tenant_id] = time.monotonic() + BROKER_DOWN_SECONDS
        log.error("audit_sequence_soon_failed", extra={"error": repr(exc)})


def sequence_soon(audit_log: Log) -> None:
    """For hot paths that queue entries with their own SQL (session creation): once the
    current transaction commits, have a worker sequence the log, whatever the mode."""
    using = store.connection_for(audit_log).alias
    if not connections[using].in_atomic_block and _asked_recently(audit_log):
        # Committed already, and a task asked less than a second ago runs after this
        # commit: nothing to register (this runs once per session created).
        return
    _sequence_on_commit(audit_log, using, (), deferred=True)


def append_many(items: list[tuple[str, dict]], *, actor: str = "", log: Log | None = None) -> list:
    """Append `(event, payload)` items, all with the same time and actor.

    Inside a transaction, or in deferred mode: returns the pending rows (sequenced once
    it commits; use `entry_of` for a seq now). Outside a transaction in commit mode:
    inserts and sequences them in one transaction and returns the entries."""
    audit_log = log or tenant_log()
    at_us = micros(timezone.now())
    rows = [(event, actor, at_us, canonical_payload(payload or {})) for event, payload in items]
    if not rows:
        return []
    using = store.connection_for(audit_log).alias
    deferred = sequencing_mode() != COMMIT
    if connections[using].in_atomic_block:
        ids = store.insert_pending(audit_log, rows)
        _sequence_on_commit(audit_log, using, ids, deferred=deferred)
        return [_pending(audit_log, row_id, row) for row_id, row in zip(ids, rows, strict=True)]
    if deferred:
        # One row: one autocommit INSERT, its own durable transaction. More rows may
        # take several statements (SQLite's parameter limit): one transaction for all.
        with transaction.atomic(using=using) if len(rows) > 1 else nullcontext():
            ids = store.insert_pending(audit_log, rows)
        _sequence_on_commit(audit_log, using, ids, deferred=True)  # outside: runs now
        return [_pending(audit_log, row_id, row) for row_id, row in zip(ids, rows, strict=True)]
    with transaction.atomic(using=using):
        ids = store.insert_pending(audit_log, rows)
        store.lock(audit_log)
        by_pending = {entry.pending_id: entry for entry in drain_locked(audit_log)}
    return [by_pending[row_id] for row_id in ids]


def _pending(audit_log: Log, row_id: int, row: tuple):
    names = ["id", *store.PENDING_COLUMNS]
    return _loaded(
        audit_log, audit_log.pending_model, dict(zip(names, (row_id, *row), strict=True))
    )


def append(event: str, payload: dict | None = None, *, actor: str = "", log: Log | None = None):
    """Append one entry (see `append_many` for what it returns)."""
    return append_many([(event, payload or {})], actor=actor, log=log)[0]


def entry_of(appended, log: Log | None = None):
    """The sequenced entry of what `append()` returned. A pending row is sequenced
    first if need be: inside a transaction, holding the log's lock until it ends."""
    if not hasattr(appended, "payload"):
        return appended  # already an entry
    audit_log = log or log_of(appended)
    sequence_pending(audit_log)
    entry = audit_log.entries().filter(pending_id=appended.pk).order_by("-seq").first()
    if entry is None:
        raise AuditError(f"pending audit row {appended.pk} was never sequenced (rolled back?)")
    return entry


def pending_status(audit_log: Log, now=None) -> dict:
    """How many entries wait for their seq, and the age of the oldest (seconds)."""
    found = audit_log.pending().aggregate(count=Count("id"), oldest=Min("at_us"))
    oldest = found["oldest"]
    age = (micros(now or timezone.now()) - oldest) / 1e6 if oldest is not None else 0.0
    return {"count": found["count"], "oldest_age_s": round(max(age, 0.0), 3)}
