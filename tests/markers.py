"""Skip markers for checks that exist only with a real service. They skip only on the
embedded default; where CI requires the service (DIM_REQUIRE_POSTGRES /
DIM_REQUIRE_SERVICES, set by the PostgreSQL + Redis pass of `.ci/run`), they never skip,
so a missing service fails the test instead of hiding it."""

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
