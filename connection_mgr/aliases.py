"""Database aliases registered at run time (`connections.settings`), and which alias
holds a tenant's rows.

A dedicated tenant's alias is built from its URL with the default database's engine and
options (our PostgreSQL backend with server-side binding, timeouts, pool; or SQLite's
WAL options), so every rule of the default database holds there too. The tenant → alias
map is read from the default database once and kept per process, refreshed when a
TenantDatabase row changes here and every CONNECTION_ROUTING_TTL seconds for the others.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

import environ
from django.conf import settings
from django.db import connections

from tenancy import resettable

logger = logging.getLogger("dim.connections")
_lock = threading.Lock()
_map: dict[int, str] = {}
_loaded_at = -1e9


class InvalidDatabaseURL(ValueError):
    pass


class RoutingRefused(RuntimeError):
    """A dedicated tenant's routing row cannot be trusted (its URL is not sealed, or its
    envelope does not open): the tenant's rows are reached nowhere rather than in a
    database someone else named. Other tenants are not affected."""


# In the map instead of an alias: the tenant's row was refused (fail closed).
_REFUSED = "\0refused"


def settings_for(url: str) -> dict:
    """A DATABASES entry for `url`, shaped like the default database's."""
    try:
        parsed = environ.Env.db_url_config(url)
    except Exception as exc:  # environ raises bare Exceptions for unknown schemes
        raise InvalidDatabaseURL(f"not a database URL: {exc}") from exc
    default = connections.settings["default"]
    engine = parsed.get("ENGINE", "")
    wanted = "sqlite" if default["ENGINE"].endswith("sqlite3") else "postgresql"
    if wanted not in engine:
        raise InvalidDatabaseURL(f"a {wanted} URL is needed here (the default database's kind)")
    if not parsed.get("NAME"):
        raise InvalidDatabaseURL("the URL names no database")
    entry = copy.deepcopy(default)
    for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT"):
        entry[key] = parsed.get(key, "") or ""
    entry.pop("TEST", None)
    return entry


def default_entry() -> dict:
    return connections.settings["default"]


def register(alias: str, url: str, *, options: dict | None = None) -> str:
    """Make `alias` usable through `connections[alias]` (idempotent)."""
    entry = settings_for(url)
    if options and entry["ENGINE"].endswith("sqlite3"):
        options = {k: v for k, v in options.items() if k != "pool"}  # PostgreSQL's only
    if options:
        entry["OPTIONS"] = {**entry["OPTIONS"], **options}
        if "pool" not in entry["OPTIONS"]:
            entry["CONN_MAX_AGE"] = 0
    current = connections.settings.get(alias)
    if current is not None and all(current.get(k) == v for k, v in entry.items()):
        return alias
    if current is not None:
        connections[alias].close()
    # configure_settings fills Django's defaults (ATOMIC_REQUESTS, TIME_ZONE, ...); it
    # insists on seeing a default entry.
    filled = connections.configure_settings(
        {"default": copy.deepcopy(default_entry()), alias: entry}
    )
    connections.settings[alias] = filled[alias]
    if hasattr(connections._connections, alias):  # the next use builds a new wrapper
        delattr(connections._connections, alias)
    return alias


def unregister(alias: str) -> None:
    if alias in connections.settings and alias != "default":
        try:
            connections[alias].close()
            pool = getattr(connections[alias], "pool", None)
            if pool is not None:
                connections[alias].close_pool()
        finally:
            del connections.settings[alias]
            if hasattr(connections._connections, alias):
                delattr(connections._connections, alias)


def tenant_alias(tenant_id: int | None) -> str | None:
    """The alias of a dedicated tenant's database, or None (pooled)."""
    if tenant_id is None:
        return None
    if time.monotonic() - _loaded_at > settings.CONNECTION_ROUTING_TTL:
        refresh()
    alias = _map.get(tenant_id)
    if alias == _REFUSED:
        raise RoutingRefused(
            f"tenant {tenant_id}: its routing row holds a database URL that is not sealed "
            "or does not open; refused (an operator must route it again)"
        )
    return alias


def _opened(tenant_id: int, stored: str) -> str | None:
    from connection_mgr import sealing

    try:
        return sealing.open_(stored, "url")
    # Unsealed, or an envelope that does not open (the key provider's own error, from a
    # layer this one may not import): either way the row is not used.
    except Exception as exc:  # noqa: BLE001 (see above: any failure refuses the row)
        logger.error(
            "routing refused",
            extra={"event": "routing_refused", "tenant": tenant_id, "error": str(exc)},
        )
        return None


def refresh() -> None:
    global _loaded_at
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from connection_mgr.models import Mode, TenantDatabase

    # The URL as stored (a Cast, so the field's own reading does not raise for every
    # tenant at once): each row is opened alone, and a bad one fails its tenant only.
    rows = list(
        TenantDatabase.objects.using("default")
        .filter(mode=Mode.DEDICATED)
        .annotate(stored=Cast("url", output_field=TextField()))
        .values_list("tenant_id", "alias", "stored")
    )
    routes = {}
    with _lock:
        for tenant_id, alias, stored in rows:
            url = _opened(tenant_id, stored)
            if not url:  # refused, or a dedicated row without a URL
                routes[tenant_id] = _REFUSED
                continue
            if alias not in connections.settings:
                register(alias, url)
            routes[tenant_id] = alias
        _map.clear()
        _map.update(routes)
        _loaded_at = time.monotonic()


def dedicated_aliases() -> list[str]:
    return sorted({alias for alias in _map.values() if alias != _REFUSED})


@resettable.register
def reset() -> None:
    """Forget the map (tests); it is read again on next use."""
    global _loaded_at
    _map.clear()
    _loaded_at = -1e9
