"""Read replicas (`DATABASE_REPLICA_URLS`): the seed's "multi-region replication".

Reads go to a replica when one is configured and answers, and its replay lag is under
CONNECTION_REPLICA_MAX_LAG_SECONDS; otherwise to the primary. They always go to the
primary inside a transaction (`in_atomic_block`: the transaction must see its own writes)
and for the rest of a request (or task) once it wrote: `wrote` is set by the router's
`db_for_write`, which Django calls for every save, delete, update and bulk write, and
cleared at the start of each request by `ReadYourWritesMiddleware`.

Lag is `now() - pg_last_xact_replay_timestamp()` on the replica, measured at most every
CONNECTION_REPLICA_LAG_CHECK_SECONDS per process. On a server that is not a standby the
function is NULL: lag 0.
"""

from __future__ import annotations

import contextvars
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections

from connection_mgr import aliases, breaker
from tenancy import resettable

LAG_SQL = "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("dim_db_wrote", default=False)
_lag: dict[str, tuple[float, float | None]] = {}  # alias -> (measured at, lag or None)
_lock = threading.Lock()


def replica_aliases() -> list[str]:
    """Register the configured replicas (once) and return their aliases."""
    urls = [u.strip() for u in settings.DATABASE_REPLICA_URLS.split(",") if u.strip()]
    names = []
    for index, url in enumerate(urls):
        alias = f"replica_{index}"
        if alias not in connections.settings:
            aliases.register(alias, url)
        names.append(alias)
    return names


def mark_wrote() -> None:
    _wrote.set(True)


def wrote() -> bool:
    return _wrote.get()


def begin_request() -> contextvars.Token:
    return _wrote.set(False)


def end_request(token: contextvars.Token) -> None:
    _wrote.reset(token)


def lag_seconds(alias: str) -> float | None:
    """The replica's replay lag (cached), or None when it cannot be measured (down)."""
    now = time.monotonic()
    cached = _lag.get(alias)
    if cached is not None and now - cached[0] < settings.CONNECTION_REPLICA_LAG_CHECK_SECONDS:
        return cached[1]
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            value = float(cursor.fetchone()[0])
    except DatabaseError:
        value = None
    with _lock:
        _lag[alias] = (now, value)
    return value


def read_alias(primary: str = "default") -> str | None:
    """A healthy replica for a read outside any transaction and before any write, or
    None (the primary)."""
    if not settings.DATABASE_REPLICA_URLS or _wrote.get():
        return None
    if connections[primary].in_atomic_block:
        return None
    for alias in replica_aliases():
        if breaker.breaker(alias).state == breaker.OPEN:
            continue
        lag = lag_seconds(alias)
        if lag is not None and lag <= settings.CONNECTION_REPLICA_MAX_LAG_SECONDS:
            return alias
    return None


@resettable.register
def reset() -> None:
    """Forget measured lags (tests)."""
    _lag.clear()
