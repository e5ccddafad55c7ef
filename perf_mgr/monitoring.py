"""Starting this process's collectors on demand (the seed's `start_monitoring()`)."""

from __future__ import annotations

from perf_mgr import process, recording


def start() -> dict:
    """Sample CPU and memory now and make sure the flusher runs (thread mode); both are
    idempotent."""
    point = process.sample()
    recording.ensure_started()
    return point
