"""A health check per database alias: one `SELECT 1`, through the breaker like any
connection (so checking a database that is down opens its breaker too)."""

from __future__ import annotations

import time

from django.db import DatabaseError, connections

from connection_mgr import breaker


def check(alias: str) -> dict:
    started = time.perf_counter()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"alias": alias, "ok": False, "error": str(exc).strip()[:300]}
    finally:
        if connections[alias].vendor == "postgresql" and not connections[alias].in_atomic_block:
            connections[alias].close()  # back to the pool: a check holds nothing
    seconds = time.perf_counter() - started
    return {"alias": alias, "ok": True, "latency_ms": round(seconds * 1000, 2)}


def check_all(aliases) -> list[dict]:
    return [check(alias) | {"breaker": breaker.breaker(alias).state} for alias in aliases]
