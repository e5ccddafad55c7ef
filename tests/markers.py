"""Skip markers for checks that exist only with a real service. They skip only on the
embedded default; where CI requires the service (DIM_REQUIRE_POSTGRES /
DIM_REQUIRE_SERVICES, set by the PostgreSQL + Redis pass of `.ci/run`), they never skip,
so a missing service fails the test instead of hiding it. The one place tests decide
whether to skip: no test module defines its own `skipif` for a service."""

import os

import pytest
from django.conf import settings
from django.db import connection

ON_POSTGRES = connection.vendor == "postgresql"
_POSTGRES_REQUIRED = os.environ.get("DIM_REQUIRE_POSTGRES") == "1"
_SERVICES_REQUIRED = os.environ.get("DIM_REQUIRE_SERVICES") == "1"


def postgres_only(why: str):
    """For what only PostgreSQL has (RLS, privileges, concurrent writers, ...)."""
    return pytest.mark.skipif(
        not ON_POSTGRES and not _POSTGRES_REQUIRED,
        reason=f"PostgreSQL only: {why} (runs in the PostgreSQL pass of `make test`)",
    )


def embedded_only(why: str):
    """For a check that only the embedded default can fail: on PostgreSQL a second layer
    (RLS) hides what it looks for. It runs in the embedded pass of `make test`."""
    return pytest.mark.skipif(
        ON_POSTGRES, reason=f"embedded only: {why} (runs in the embedded pass of `make test`)"
    )


def database_owner_only(why: str):
    """For what needs the owner role's own connection on PostgreSQL (DATABASE_OWNER_URL,
    which `make test` and `scripts/services.py` set); nothing to skip on SQLite."""
    return pytest.mark.skipif(
        ON_POSTGRES and not os.environ.get("DATABASE_OWNER_URL") and not _POSTGRES_REQUIRED,
        reason=f"needs DATABASE_OWNER_URL: {why} (`make test` sets it)",
    )


def redis_only(why: str):
    """For what only the Redis configuration has (pub/sub, scripts)."""
    return pytest.mark.skipif(
        not settings.REDIS_URL and not _SERVICES_REQUIRED,
        reason=f"Redis only: {why} (runs in the PostgreSQL + Redis pass of `make test`)",
    )


def require_program(name: str, why: str, install: str) -> None:
    """Inside a test or fixture: a program the test drives for real (redis-server to
    kill, make). In CI (CI, DIM_REQUIRE_SERVICES) a missing one fails the test; elsewhere
    it skips, saying what to install."""
    import shutil

    if shutil.which(name) is not None:
        return
    message = f"{name} is not installed ({install}): {why}"
    if _SERVICES_REQUIRED or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
