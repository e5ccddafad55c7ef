"""Degraded modes: what a process does while Redis or the database cannot be reached.

Redis only ever holds copies (memberships, MFA enrolment, the shared cache in general):
the database has the truth. So a read of a copy that fails answers "not cached" and the
caller reads the database; a write of a copy that fails is skipped. `shared_cache()`
wraps such calls. After a failure Redis is left alone for `REDIS_RETRY_SECONDS`, so a
hung or unreachable server costs one timeout (REDIS_SOCKET_TIMEOUT) per process and
period, not one per request; the first call after the period tries again, and the first
success logs the recovery. Going down logs one line (`redis_unavailable`), then one a
minute while it lasts; every fallback is counted (`counters()`, shown by `/health/`).

The database has no fallback: while it cannot be reached, requests are answered at once
with a JSON 503 and `Retry-After` (tenancy/health.py); `is_database_unavailable` tells
an outage (connection refused or lost, connect or pool timeout, server shutting down,
too many connections) from a bug (a missing table is a 500, as it should be).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from tenancy import resettable

log = logging.getLogger("dim.degraded")

REDIS_RETRY_SECONDS = 5.0
REMIND_SECONDS = 60.0


def _redis_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        errors += [RedisConnectionError, RedisTimeoutError]
    except ImportError:  # the embedded default may run without the package
        pass
    try:
        from django_redis.exceptions import ConnectionInterrupted

        errors.append(ConnectionInterrupted)
    except ImportError:
        pass
    return tuple(errors)


REDIS_ERRORS = _redis_errors()

_counts: Counter = Counter()
_counts_lock = threading.Lock()


def count(name: str, n: int = 1) -> None:
    with _counts_lock:
        _counts[name] += n


def counters() -> dict[str, int]:
    with _counts_lock:
        return dict(_counts)


class Dependency:
    """The state of one dependency in this process: up, or down since a failure."""

    def __init__(self, name: str, retry_seconds: float):
        self.name = name
        self.retry_seconds = retry_seconds
        self.down_since: float | None = None  # wall clock of the first failure
        self._skip_until = 0.0  # monotonic
        self._reminded_at = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def usable(self) -> bool:
        """False for `retry_seconds` after a failure: do not even try."""
        return time.monotonic() >= self._skip_until

    def failed(self, where: str, exc: BaseException) -> None:
        now = time.monotonic()
        self._skip_until = now + self.retry_seconds
        count(f"{self.name}.failures")
        first = self.down_since is None
        if first:
            self.down_since = time.time()
        if first or now - self._reminded_at > REMIND_SECONDS:
            self._reminded_at = now
            log.error(
                f"{self.name}_unavailable",
                extra={
                    "event": f"{self.name}_unavailable",
                    "dependency": self.name,
                    "where": where,
                    "error": f"{type(exc).__name__}: {exc}"[:300],
                    "fallbacks": counters(),
                },
            )

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        seconds, self.down_since = time.time() - self.down_since, None
        self._skip_until = 0.0
        log.warning(
            f"{self.name}_recovered",
            extra={
                "event": f"{self.name}_recovered",
                "dependency": self.name,
                "down_seconds": round(seconds, 3),
            },
        )


redis = Dependency("redis", REDIS_RETRY_SECONDS)
# Never skipped (every request tries, so recovery is seen at once): state for /health/.
database = Dependency("database", 0.0)
broker = Dependency("broker", 0.0)  # Celery's, when a request could not send a task


def origin(exc: BaseException) -> str:
    """The project's innermost frame that the exception went through (for the log line
    of an outage nothing fell back from: where a fallback is missing)."""
    import traceback
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    found = "unknown"
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root) and "/.venv/" not in frame.filename:
            found = f"{frame.filename[len(root) + 1 :]}:{frame.lineno} {frame.name}"
    return found


def shared_cache(where: str, call, default=None):
    """`call()` against the shared cache; `default` (counted as `redis.<where>`) when
    Redis fails now or failed within REDIS_RETRY_SECONDS. Only for copies whose truth is
    in the database: the caller must be right with `default`."""
    if not redis.usable():
        count(f"redis.{where}")
        return default
    try:
        result = call()
    except REDIS_ERRORS as exc:
        redis.failed(where, exc)
        count(f"redis.{where}")
        return default
    redis.succeeded()
    return result


# --- the database -----------------------------------------------------------------------

# PostgreSQL SQLSTATE classes meaning "cannot serve now, try again": connection exception,
# insufficient resources (too many connections), operator intervention (shutdown,
# cannot connect now, statement cancelled).
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57")
_SQLITE_UNAVAILABLE = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_FULL"}


def is_database_unavailable(exc: BaseException | None) -> bool:
    from django.db import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or broken
    if getattr(exc, "database_unavailable", False):
        return True  # refused without trying (connection_mgr's open circuit breaker)
    cause = exc.__cause__ or exc
    module = type(cause).__module__
    if module.startswith("psycopg"):
        sqlstate = getattr(cause, "sqlstate", None)
        # No SQLSTATE: the client's own failure (refused, timed out, closed by the
        # server) or the pool's (PoolTimeout, TooManyRequests).
        return sqlstate is None or sqlstate[:2] in _PG_UNAVAILABLE_CLASSES
    name = getattr(cause, "sqlite_errorname", "") or ""
    return name in _SQLITE_UNAVAILABLE or name.startswith("SQLITE_IOERR")


@resettable.register
def reset() -> None:
    """Forget state and counts (tests)."""
    with _counts_lock:
        _counts.clear()
    for dependency in (redis, database, broker):
        dependency.down_since = None
        dependency._skip_until = 0.0
        dependency._reminded_at = 0.0
