"""A circuit breaker per database alias, around connection acquisition.

closed: connections are attempted; CONNECTION_BREAKER_FAILURES failures in a row open it.
open: every attempt is refused at once (`DatabaseUnavailable`, naming the alias) for
    CONNECTION_BREAKER_OPEN_SECONDS, so a tenant whose database is down gets a quick 503
    instead of each request waiting for connect_timeout.
half-open: after that interval one attempt (the probe) goes through; the others are still
    refused. The probe succeeding closes the breaker, failing opens it again.

Per process: each web or worker process learns on its own (no shared state to lose when
Redis is down too). State changes are logged and reported to the listeners of
`on_change` (the Prometheus gauges).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import OperationalError

from tenancy import resettable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
log = logging.getLogger("dim.connections")
_listeners: list[Callable[[str, str], None]] = []


class DatabaseUnavailable(OperationalError):
    """The breaker of `alias` is open: the database is not tried. `database_unavailable`
    tells tenancy.degraded that this is an outage (a 503), whatever layer sees it."""

    database_unavailable = True

    def __init__(self, alias: str):
        super().__init__(
            f"Database {alias!r} is unavailable (circuit breaker open); try again shortly."
        )
        self.alias = alias
        self.dim_alias = alias


@dataclass
class Breaker:
    alias: str
    state: str = CLOSED
    failures: int = 0  # in a row
    opened_at: float = 0.0
    last_error: str = ""
    probing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def threshold(self) -> int:
        return settings.CONNECTION_BREAKER_FAILURES

    @property
    def open_seconds(self) -> float:
        return settings.CONNECTION_BREAKER_OPEN_SECONDS

    def before(self) -> None:
        """Raise DatabaseUnavailable unless an attempt may go through now."""
        with self.lock:
            if self.state == CLOSED:
                return
            if self.state == OPEN and time.monotonic() - self.opened_at >= self.open_seconds:
                self._move(HALF_OPEN)
            if self.state == HALF_OPEN and not self.probing:
                self.probing = True  # this caller is the probe
                return
        raise DatabaseUnavailable(self.alias)

    def succeeded(self) -> None:
        with self.lock:
            self.failures = 0
            self.probing = False
            if self.state != CLOSED:
                self._move(CLOSED)

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            self.probing = False
            if self.state == HALF_OPEN or self.failures >= self.threshold:
                self.opened_at = time.monotonic()
                if self.state != OPEN:
                    self._move(OPEN)

    def _move(self, state: str) -> None:
        previous, self.state = self.state, state
        log.warning(
            "breaker_state",
            extra={"event": "breaker_state", "alias": self.alias, "from": previous, "to": state},
        )
        for listener in list(_listeners):
            listener(self.alias, state)

    def snapshot(self) -> dict:
        return {
            "alias": self.alias,
            "state": self.state,
            "failures": self.failures,
            "last_error": self.last_error,
        }


_breakers: dict[str, Breaker] = {}
_registry_lock = threading.Lock()


def breaker(alias: str) -> Breaker:
    found = _breakers.get(alias)
    if found is None:
        with _registry_lock:
            found = _breakers.setdefault(alias, Breaker(alias))
    return found


def all_breakers() -> list[Breaker]:
    return sorted(_breakers.values(), key=lambda b: b.alias)


def on_change(listener: Callable[[str, str], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def guarded_connect(alias: str, connect: Callable[[], object]):
    """The `tenancy.hooks.database_connect` provider."""
    guard = breaker(alias)
    guard.before()
    try:
        connection = connect()
    except Exception as exc:
        guard.failed(exc)
        exc.dim_alias = alias  # so the 503 can name the database
        raise
    guard.succeeded()
    return connection


@resettable.register
def reset() -> None:
    """Forget every breaker (tests)."""
    _breakers.clear()
