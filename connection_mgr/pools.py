"""The psycopg pools of Django 5.2 (`OPTIONS["pool"]`), one per database alias: their
statistics, and resizing at run time (psycopg_pool's `resize`)."""

from __future__ import annotations

from django.db import connections


def pool_of(alias: str):
    """The alias's psycopg_pool.ConnectionPool, or None (no pool: SQLite, or a
    PostgreSQL alias without OPTIONS["pool"])."""
    wrapper = connections[alias]
    return getattr(wrapper, "pool", None) if wrapper.vendor == "postgresql" else None


def pool_stats(alias: str) -> dict | None:
    pool = pool_of(alias)
    if pool is None:
        return None
    stats = pool.get_stats()
    return {
        "min_size": pool.min_size,
        "max_size": pool.max_size,
        "size": stats.get("pool_size", 0),
        "available": stats.get("pool_available", 0),
        "waiting": stats.get("requests_waiting", 0),
        "timeout": pool.timeout,
    }
