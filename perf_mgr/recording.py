"""Recording from Python: an in-process append, never a database write on the caller's
path.

    record_metric("orders_placed", 3, {"region": "eu"})

validates the sample (perf_mgr/validation.py; a bad one raises `MetricRejected`, a
`ValueError`), and appends it, with the tenant of the context and the time, to a
bounded per-process buffer. A full buffer (`PERFORMANCE_BUFFER_MAX`) drops the sample
and counts the drop (`dim_metrics_dropped`): recording never blocks the caller.

`flush()` writes what is buffered, per tenant, in batches (perf_mgr/store.py). Who calls
it depends on `PERFORMANCE_FLUSH_MODE`:

- `thread` (default): a daemon thread started by the first sample of the process (and
  again in a forked child) flushes every `PERFORMANCE_FLUSH_INTERVAL` seconds, sooner
  when the buffer passes a quarter of its size; request and task ends nudge it;
- `inline`: the end of a request or task flushes when the interval has passed;
- `manual`: only explicit `flush()` calls (the tests and the bench).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque

from django.conf import settings

from perf_mgr.models import Category
from perf_mgr.validation import canonical_labels, check_name, check_value
from tenancy import resettable
from tenancy.context import TenantRef, current_var, require_tenant_id

log = logging.getLogger("dim.perf")

_pending: deque = deque()
_state = {"dropped": 0, "started": False, "last_flush": time.monotonic()}
_wake = threading.Event()
_flush_lock = threading.Lock()
_good_names: set[str] = set()
_label_memo: dict = {}
_MEMO_MAX = 10_000
_EMPTY = ()


def _limit() -> int:
    return settings.PERFORMANCE_BUFFER_MAX


def _labels(tags) -> tuple:
    """Canonical labels, remembered per raw (sorted) form: checking costs microseconds,
    a dictionary lookup does not."""
    try:
        raw = tuple(sorted(tags.items()))
        canonical = _label_memo.get(raw)
    except (TypeError, AttributeError):  # unhashable or unsortable: let the checker say
        return canonical_labels(tags)
    if canonical is None:
        canonical = canonical_labels(tags)
        if len(_label_memo) >= _MEMO_MAX:
            _label_memo.clear()
        _label_memo[raw] = canonical
    return canonical


def record_for(tenant_id: int, name: str, labels: tuple, value: float, category: str) -> bool:
    """Append an already valid sample of `tenant_id` (the collectors' path)."""
    if len(_pending) >= _limit():
        _state["dropped"] += 1
        _count_drop()
        return False
    _pending.append((tenant_id, name, labels, category, value, time.time()))
    if not _state["started"]:
        _start()
    return True


def record_metric(name, value, tags=None, *, category: str = Category.CUSTOM) -> bool:
    """Buffer one sample of the tenant in context. True when buffered, False when the
    full buffer dropped it; `MetricRejected` for a bad sample, `TenantContextMissing`
    outside a tenant."""
    state = current_var.get()
    if state.__class__ is not TenantRef:
        require_tenant_id("record_metric()")
    if name not in _good_names:
        check_name(name)
        if len(_good_names) < _MEMO_MAX:
            _good_names.add(name)
    if value.__class__ is not float or value - value != 0.0:  # NaN and ±inf fail v - v == 0
        value = check_value(value)
    labels = _labels(tags) if tags else _EMPTY
    if len(_pending) >= _limit():
        _state["dropped"] += 1
        _count_drop()
        return False
    _pending.append((state.id, name, labels, category, value, time.time()))
    if not _state["started"]:
        _start()
    return True


def record_business_metric(name, value, tags=None) -> bool:
    return record_metric(name, value, tags, category=Category.BUSINESS)


def record_performance_metric(name, value, tags=None) -> bool:
    return record_metric(name, value, tags, category=Category.PERFORMANCE)


def _count_drop() -> None:
    from perf_mgr import prometheus

    prometheus.DROPPED.inc()


def pending() -> int:
    return len(_pending)


def dropped() -> int:
    return _state["dropped"]


def _drain() -> dict[int, list]:
    by_tenant: dict[int, list] = {}
    pop = _pending.popleft
    for _ in range(len(_pending)):
        try:
            tenant_id, name, labels, category, value, ts = pop()
        except IndexError:
            break
        batch = by_tenant.get(tenant_id)
        if batch is None:
            batch = by_tenant[tenant_id] = []
        batch.append((name, labels, category, value, int(ts * 1_000_000)))
    return by_tenant


def flush() -> int:
    """Write every buffered sample now, tenant by tenant. Returns how many were stored
    (refused series and samples of tenants that no longer exist are not)."""
    from django.db import DatabaseError, IntegrityError

    from perf_mgr import prometheus, store
    from tenancy.context import tenant_context

    stored = 0
    with _flush_lock:
        _state["last_flush"] = time.monotonic()
        for tenant_id, batch in _drain().items():
            try:
                with tenant_context(TenantRef.for_id(tenant_id)):
                    count, _refused = store.write(batch)
            except IntegrityError:
                log.warning(
                    "metrics_dropped",
                    extra={"event": "metrics_dropped", "tenant_id": tenant_id, "n": len(batch)},
                )
                continue
            except DatabaseError:
                _requeue(tenant_id, batch)
                raise
            stored += count
        prometheus.FLUSHED.inc(stored)
        prometheus.BUFFERED.set(len(_pending))
    return stored


def _requeue(tenant_id: int, batch: list) -> None:
    """The database failed: keep the samples for the next flush, as far as there is room."""
    room = max(0, _limit() - len(_pending))
    for name, labels, category, value, at_us in batch[:room]:
        _pending.append((tenant_id, name, labels, category, value, at_us / 1_000_000))
    _state["dropped"] += max(0, len(batch) - room)


def maybe_flush() -> None:
    """End of a request or task: flush (inline mode) or wake the flusher (thread mode)
    when the interval has passed or the buffer is filling."""
    mode = settings.PERFORMANCE_FLUSH_MODE
    if mode == "manual" or not _pending:
        return
    due = time.monotonic() - _state["last_flush"] >= settings.PERFORMANCE_FLUSH_INTERVAL
    if mode == "inline":
        if due:
            try:
                flush()
            except Exception:  # noqa: BLE001  (a metrics failure never fails a request)
                log.exception("metrics_flush_failed", extra={"event": "metrics_flush_failed"})
        return
    if due or len(_pending) * 4 >= _limit():
        _wake.set()


# --- the flusher thread ----------------------------------------------------------------


def ensure_started() -> None:
    if not _state["started"]:
        _start()


def _start() -> None:
    _state["started"] = True  # even in other modes: one check per sample, then none
    if settings.PERFORMANCE_FLUSH_MODE != "thread":
        return
    thread = threading.Thread(target=_run, name="dim-metrics-flusher", daemon=True)
    thread.start()
    atexit.register(_flush_at_exit)


def _run() -> None:
    from django.db import connections

    from perf_mgr import process

    interval = settings.PERFORMANCE_FLUSH_INTERVAL
    sample_every = settings.PERFORMANCE_MONITORING_INTERVAL
    next_sample = 0.0
    while True:
        _wake.wait(interval)
        _wake.clear()
        try:
            if time.monotonic() >= next_sample:
                process.sample()
                next_sample = time.monotonic() + sample_every
            flush()
        except Exception:  # noqa: BLE001  (the thread must outlive a database outage)
            log.exception("metrics_flush_failed", extra={"event": "metrics_flush_failed"})
            time.sleep(min(30.0, interval * 5))
        finally:
            for conn in connections.all(initialized_only=True):
                conn.close_if_unusable_or_obsolete()


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # noqa: BLE001  (best effort at interpreter exit)
        log.warning("metrics_lost_at_exit", extra={"n": len(_pending)})


def _after_fork_in_child() -> None:
    # The parent's samples are the parent's to write; the child starts its own thread.
    _pending.clear()
    _state.update(dropped=0, started=False, last_flush=time.monotonic())


os.register_at_fork(after_in_child=_after_fork_in_child)


@resettable.register
def reset() -> None:
    _pending.clear()
    _state.update(dropped=0, last_flush=time.monotonic())
    _label_memo.clear()
    _good_names.clear()
