"""What the console page, the API and `ConnectionManager.states()` show: every database
alias with its kind (default, replica, dedicated), pool, and breaker."""

from __future__ import annotations

from django.db import connections

from connection_mgr import aliases, breaker, metrics, pools, replicas


def _kind(alias: str) -> str:
    if alias == "default":
        return "primary"
    if alias in replicas.replica_aliases():
        return "replica"
    if alias in aliases.dedicated_aliases():
        return "dedicated"
    return "other"


def connection_states() -> list[dict]:
    aliases.tenant_alias(0)  # loads the dedicated aliases when stale
    replicas.replica_aliases()
    rows = []
    for alias in sorted(connections.settings):
        if alias.endswith("_owner"):
            continue
        settings_dict = connections.settings[alias]
        state = breaker.breaker(alias)
        stats = pools.pool_stats(alias)
        if stats is not None:
            metrics.observe_pool(alias, {"pool_size": stats["size"], "pool_max": stats["max_size"]})
        rows.append(
            {
                "alias": alias,
                "kind": _kind(alias),
                "vendor": connections[alias].vendor,
                "host": settings_dict.get("HOST") or "",
                "name": str(settings_dict.get("NAME") or ""),
                "breaker": state.snapshot(),
                "pool": stats,
            }
        )
    return rows
