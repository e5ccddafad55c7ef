"""The seed's Connection Manager: `from managers import ConnectionManager`.

    connections = ConnectionManager()
    connections.states_sync()                      # aliases, pools, breakers
    connections.health_sync("default")             # one SELECT 1, timed
    connections.resize_pool_sync("default", 2, 40) # the AI manager's advice
    connections.make_dedicated_sync("acme", url, owner_url=owner)
    connections.move_sync("acme", "dedicated", url=url, owner_url=owner)  # a workflow run

Thin over `connection_mgr` (docs/connections.md). Sync methods `<name>_sync`, async
twins `<name>` (managers/twins.py).
"""

from __future__ import annotations

from managers.twins import async_twins

__all__ = ["ConnectionManager"]


@async_twins
class ConnectionManager:
    def states_sync(self) -> list[dict]:
        from connection_mgr import selectors

        return selectors.connection_states()

    def health_sync(self, alias: str = "default") -> dict:
        from connection_mgr import health

        return health.check(alias)

    def resize_pool_sync(self, alias: str, min_size: int, max_size: int) -> dict:
        from connection_mgr import actions

        return actions.do_resize_pool(alias, min_size, max_size)

    def make_dedicated_sync(self, tenant, url: str, *, owner_url: str = "") -> str:
        from connection_mgr import actions
        from managers.cache import _tenant

        return actions.do_make_dedicated(_tenant(tenant), url, owner_url=owner_url)

    def move_sync(self, tenant, to: str, *, url: str = "", owner_url: str = "") -> int:
        """Start a tenant move ("dedicated" | "pooled") as a workflow; its run's id."""
        from managers.cache import _tenant
        from move_mgr import actions

        return actions.do_start_move(_tenant(tenant), to, url=url, owner_url=owner_url).pk

    def make_pooled_sync(self, tenant) -> None:
        from connection_mgr import actions
        from managers.cache import _tenant

        actions.do_make_pooled(_tenant(tenant))
