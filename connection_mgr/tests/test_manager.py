"""`from managers import ConnectionManager`: the facade over connection_mgr."""

from __future__ import annotations

import pytest

from connection_mgr.actions import ConnectionUsageError


@pytest.mark.django_db
def test_facade_states_health_and_refusals(tenant_alpha):
    from managers import ConnectionManager

    manager = ConnectionManager()
    assert any(row["alias"] == "default" for row in manager.states_sync())
    assert manager.health_sync("default")["ok"] is True
    with pytest.raises(ConnectionUsageError, match="at least min_size"):
        manager.resize_pool_sync("default", 3, 1)
    with pytest.raises(ConnectionUsageError, match="pooled already"):
        manager.make_pooled_sync(tenant_alpha.slug)


@pytest.mark.django_db
async def test_async_twin():
    from managers import ConnectionManager

    result = await ConnectionManager().health("default")
    assert result["alias"] == "default"
