"""This process's CPU and memory (psutil), sampled by the flusher thread every
`PERFORMANCE_MONITORING_INTERVAL` and by `/metrics` when it is scraped. The last
samples stay in memory for `get_current_performance()`: they describe a process, not
a tenant, so they are not stored as a tenant's metrics."""

from __future__ import annotations

import os
import threading
import time
from collections import deque

import psutil

from tenancy import resettable

HISTORY = 60
_lock = threading.Lock()
_history: deque = deque(maxlen=HISTORY)
_process: psutil.Process | None = None
_pid = 0


def _proc() -> psutil.Process:
    global _process, _pid
    if _process is None or _pid != os.getpid():
        _process, _pid = psutil.Process(), os.getpid()
        _process.cpu_percent(None)  # the first call only starts the measurement
    return _process


def sample() -> dict:
    from perf_mgr import prometheus

    proc = _proc()
    with _lock, proc.oneshot():
        point = {
            "at": time.time(),
            "pid": proc.pid,
            "cpu_percent": proc.cpu_percent(None),
            "rss_bytes": proc.memory_info().rss,
            "threads": proc.num_threads(),
        }
        _history.append(point)
    prometheus.PROCESS_CPU.set(point["cpu_percent"])
    prometheus.PROCESS_RSS.set(point["rss_bytes"])
    return point


def recent() -> list[dict]:
    with _lock:
        return list(_history)


@resettable.register
def reset() -> None:
    with _lock:
        _history.clear()
