"""Data sources for training and drift checks: apps register a function returning the
current tenant's recent rows (the metrics store, the sessions' history); a model names
its source so that scheduled retraining can fetch fresh data without a caller."""

from __future__ import annotations

from collections.abc import Callable

from ai_mgr.exceptions import BadTrainingData

_sources: dict[str, Callable[[], object]] = {}


def register(name: str, fetch: Callable[[], object]) -> None:
    _sources[name] = fetch


def fetch(name: str):
    try:
        return _sources[name]()
    except KeyError:
        raise BadTrainingData(f"no data source {name!r}") from None


def names() -> list[str]:
    return sorted(_sources)
