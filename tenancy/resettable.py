"""One registry of the process-level state that a fresh start must not inherit.

Several modules keep state for the life of the process: caches keyed by tenant, user or
session ids (the session view, key rings, policies, memberships), health and throttling
state. Each registers the function that empties it, at import time:

    resettable.register(_cache.clear, name="sessions_mgr.policy._cache")

    @resettable.register
    def reset() -> None: ...

`reset_all()` calls every registered function. The test suite calls it before every
test (tests/personas.py): ids repeat across test databases, and on SQLite across tests
(rolled-back sequences), so a cache filled by one test would otherwise answer for the
next. A module that is never imported registers nothing, and has nothing to reset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_resets: dict[str, Callable[[], object]] = {}
_lock = threading.Lock()


def register(reset: Callable[[], object], *, name: str | None = None) -> Callable[[], object]:
    """Register `reset` (idempotent per name; usable as a decorator). Name a bound
    method such as `dict.clear` explicitly: its own name says nothing."""
    if name is None and getattr(reset, "__module__", None) is None:
        raise TypeError(f"resettable.register({reset!r}) needs a name=: say whose state it is")
    key = name or f"{reset.__module__}.{reset.__qualname__}"
    with _lock:
        _resets[key] = reset
    return reset


def registered() -> list[str]:
    with _lock:
        return sorted(_resets)


def reset_all() -> None:
    """Empty every registered piece of process state, in registration order."""
    with _lock:
        resets = list(_resets.values())
    for reset in resets:
        reset()
