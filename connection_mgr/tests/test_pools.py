"""Pool sizes change at run time (do_resize_pool), and bad sizes are refused."""

from __future__ import annotations

import os

import pytest
from django.db import connections

from connection_mgr import actions, aliases, pools
from connection_mgr.tests.conftest import alias_allowed
from tests.markers import embedded_only, postgres_only


@pytest.mark.django_db
def test_resize_refuses_bad_input():
    with pytest.raises(actions.ConnectionUsageError, match="No database alias"):
        actions.do_resize_pool("nope", 1, 2)
    with pytest.raises(actions.ConnectionUsageError, match="at least min_size"):
        actions.do_resize_pool("default", 5, 2)
    with pytest.raises(actions.ConnectionUsageError, match="whole numbers"):
        actions.do_resize_pool("default", -1, 2)


@embedded_only("SQLite has no pool; PostgreSQL's is resized in the next test")
@pytest.mark.django_db
def test_embedded_default_has_no_pool():
    with pytest.raises(actions.ConnectionUsageError, match="no connection pool"):
        actions.do_resize_pool("default", 1, 2)


@postgres_only("psycopg pools")
@pytest.mark.django_db
def test_resize_a_live_pool():
    alias = "pool_probe"
    pool_options = {"min_size": 1, "max_size": 2, "timeout": 2.0}
    aliases.register(alias, os.environ["DATABASE_URL"], options={"pool": pool_options})
    try:
        with alias_allowed(alias):
            connections[alias].ensure_connection()
            assert pools.pool_stats(alias)["max_size"] == 2
            stats = actions.do_resize_pool(alias, 2, 6)
            assert (stats["min_size"], stats["max_size"]) == (2, 6)
            assert pools.pool_of(alias).max_size == 6
            assert connections.settings[alias]["OPTIONS"]["pool"]["max_size"] == 6
            connections[alias].close()
    finally:
        aliases.unregister(alias)
