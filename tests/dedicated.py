"""Dedicated tenants for tests (issue 17, isolation modes): a database of their own,
migrated once per test session as the owner (the same migrations as the default, so
RLS with FORCE, the claim key table and the runtime role's grants, with the runtime role
owning nothing), then cloned per test (PostgreSQL: CREATE DATABASE ... TEMPLATE;
SQLite: a copy of the file). A clone is dropped after its test, so rows written there
(outside the test case's rolled-back transaction) never leak into the next test.

    def test_x(dedicate, tenant_beta):
        alias = dedicate(tenant_beta)           # routed to its own database from now on
        alias = dedicate(tenant_alpha, share=alias)  # a second tenant in the same one

(Registered for every test by the root conftest.py.)

`dedicate` copies the tenant's platform row and what it already has (its key ring, audit
entries), then writes its TenantDatabase row in the test's transaction on the default
database (rolled back with it). No user is copied, as in production: users are platform
rows of the default database, and the tenant's rows link to them without a database
constraint (issue 17).
"""

from __future__ import annotations

import itertools
import os
import shutil
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.db import connections

_numbers = itertools.count()


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _postgres() -> bool:
    return connections["default"].vendor == "postgresql"


def _owner_connect(database: str | None = None):
    import psycopg

    owner = os.environ["DATABASE_OWNER_URL"]
    return psycopg.connect(_with_db(owner, database) if database else owner, autocommit=True)


def drop_database(name: str) -> None:
    import time

    import psycopg

    # Sessions of the runtime role (a connection another thread or a pool opened) may only
    # be ended by that role itself: the owner's DROP ... WITH (FORCE) is refused while one
    # is still there ("must be a member of the role whose process is being terminated").
    # pg_terminate_backend only signals, so it is asked to wait for the end (PostgreSQL
    # 14+), and the drop is tried again if a session came or lingered meanwhile.
    for attempt in range(20):
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = %s AND usename = current_user AND pid <> pg_backend_pid()",
                [name],
            ).fetchall()
            for (pid,) in pids:
                try:  # one by one: a session that ended meanwhile (its pid reused) is skipped
                    conn.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
                except psycopg.Error:
                    continue
        try:
            with _owner_connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 19:
                raise
            time.sleep(0.1)  # a liveness retry: a runtime session is still ending


@pytest.fixture(scope="session")
def dedicated_template(django_db_setup, django_db_blocker, tmp_path_factory):
    """A migrated, empty tenant database to clone: its name (PostgreSQL) or file path."""
    from connection_mgr import aliases

    if _postgres():
        if not os.environ.get("DATABASE_OWNER_URL"):
            if (
                os.environ.get("DIM_REQUIRE_POSTGRES") == "1"
                or os.environ.get("DIM_REQUIRE_SERVICES") == "1"
            ):  # CI never skips a real service: the missing owner is a failure
                pytest.fail("DATABASE_OWNER_URL is not set: dedicated databases need the owner")
            pytest.skip(
                "dedicated databases are created by the owner role: set DATABASE_OWNER_URL "
                "(`make test` does)"
            )
        name = f"{connections['default'].settings_dict['NAME']}_dtpl"
        drop_database(name)
        with _owner_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        runtime_role = connections["default"].settings_dict["USER"]
        with _owner_connect(name) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            conn.execute(f'GRANT USAGE ON SCHEMA public TO "{runtime_role}"')
        url = _with_db(os.environ["DATABASE_OWNER_URL"], name)
        where = name
    else:
        where = str(tmp_path_factory.mktemp("dedicated") / "template.sqlite3")
        url = f"sqlite:///{where}"
    with django_db_blocker.unblock():
        aliases.register("dedicated_template", url, options={"pool": False})
        try:
            call_command("migrate", database="dedicated_template", verbosity=0, interactive=False)
        finally:
            aliases.unregister("dedicated_template")
    yield where
    if _postgres():
        drop_database(where)


def _clone(template: str, tmp_path) -> tuple[str, str, str]:
    """(runtime URL, owner URL, what to drop) of a fresh copy of the template."""
    if not _postgres():
        path = tmp_path / f"tenant_{next(_numbers)}.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}", f"sqlite:///{path}", ""
    name = f"{template[: -len('_dtpl')]}_d{os.getpid()}_{next(_numbers)}"
    drop_database(name)
    with _owner_connect() as conn:
        # WAL_LOG (PostgreSQL 15's default) copies the small template through the WAL;
        # FILE_COPY would force two checkpoints per clone, which flush every database's
        # dirty pages: seconds per test when other work writes to the server.
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG')
    return (
        _with_db(os.environ["DATABASE_URL"], name),
        _with_db(os.environ["DATABASE_OWNER_URL"], name),
        name,
    )


@pytest.fixture
def dedicate(dedicated_template, tmp_path, django_db_blocker):
    """dedicate(tenant, share=None) -> alias: the tenant's rows live in a database of its
    own from now on (`share`: an alias dedicate() returned, to put a second tenant in
    the same database, so its tables hold two tenants and only RLS and the scoped
    managers keep them apart)."""
    from connection_mgr import aliases, copying
    from connection_mgr.actions import _copy_tenant_row
    from connection_mgr.models import Mode, TenantDatabase
    from connection_mgr.tests.conftest import alias_allowed
    from tenancy.context import platform_access

    made: list[tuple[str, str]] = []
    urls: dict[str, tuple[str, str]] = {}
    allowed = []

    def make(tenant, share: str | None = None) -> str:
        alias = f"tenant_{tenant.pk}"
        if share is not None:
            url, owner_url = urls[share]
            drop = ""
        else:
            url, owner_url, drop = _clone(dedicated_template, tmp_path)
        owner_alias = f"{alias}_owner"
        for name in (alias, owner_alias):
            allowing = alias_allowed(name)
            allowing.__enter__()
            allowed.append(allowing)
        aliases.register(owner_alias, owner_url, options={"pool": False})
        with django_db_blocker.unblock():
            _copy_tenant_row(tenant, owner_alias)
            copying.copy_tenant_rows(tenant, "default", owner_alias)
        connections[owner_alias].close()
        # The routing map is written under the platform claim only (rls_platform).
        with platform_access("test: route a tenant to its dedicated database"):
            TenantDatabase.objects.update_or_create(
                tenant=tenant,
                defaults={
                    "mode": Mode.DEDICATED,
                    "alias": alias,
                    "url": url,
                    "owner_url": owner_url,
                },
            )
        aliases.reset()
        aliases.register(alias, url)
        urls[alias] = (url, owner_url)
        made.append((alias, drop))
        return alias

    yield make
    for alias, _drop_name in made:
        aliases.unregister(alias)
        aliases.unregister(f"{alias}_owner")
    aliases.reset()
    for allowing in reversed(allowed):
        allowing.__exit__(None, None, None)
    for _alias, drop_name in made:
        if drop_name:
            drop_database(drop_name)
