"""A scratch PostgreSQL database for migration tests, and `manage.py` run against it.

The owner role (CREATEDB) creates the database and prepares it as scripts/services.py
prepares the test database; the test migrates it as the owner and writes as the
runtime role, in subprocesses, exactly as a deployment does; the database is dropped
afterwards. Use the fixture by importing it into the test module:

    from tests.scratch_database import scratch_database  # noqa: F401
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def _url(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


@pytest.fixture
def scratch_database():
    """{"owner": URL, "runtime": URL, "role": the runtime role} of a fresh database."""
    import psycopg
    from psycopg import sql

    owner_url = os.environ.get("DATABASE_OWNER_URL")
    if not owner_url:
        pytest.fail("needs DATABASE_OWNER_URL (the owner role creates the scratch database)")
    name = f"dim_scratch_{uuid.uuid4().hex[:8]}"
    runtime = connection.settings_dict["USER"]
    with psycopg.connect(owner_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(_url(owner_url, name), autocommit=True) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(runtime))
            )
        yield {
            "owner": _url(owner_url, name),
            "runtime": _url(os.environ["DATABASE_URL"], name),
            "role": runtime,
        }
    finally:
        with psycopg.connect(owner_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def manage(database_url: str, runtime_role: str, *args: str) -> str:
    """`manage.py <args>` against the database at `database_url`; its stdout."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DB_RUNTIME_ROLE": runtime_role,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_POOL": "0",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args[:2])}: {done.stderr[-3000:]}"
    return done.stdout


def applied(owner_url: str, apps: tuple[str, ...]) -> set[tuple[str, str]]:
    """(app, migration) pairs applied in the database, for `apps`."""
    import psycopg

    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT app, name FROM django_migrations WHERE app = ANY(%s)", [list(apps)]
        ).fetchall()
    return set(rows)
