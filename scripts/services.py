"""Find and prepare the services `make test` and `make bench` run against.

    python scripts/services.py env     # print `export ...` lines for the shell

If DATABASE_URL is unset and a local PostgreSQL answers as a superuser (PG_ADMIN_URL,
default postgresql://postgres@127.0.0.1:5432/postgres), it creates the three roles of the
isolation design and a fresh test database:

    dim_owner     owns the tables, runs migrations                (LOGIN)
    dim_app       the runtime role: NOSUPERUSER NOBYPASSRLS NOINHERIT, not the owner

The runtime role is a member of no role: platform access is a proof the database
verifies (tenancy/db/proof.py), not a role to switch to.

and points DATABASE_URL at dim_app and DATABASE_OWNER_URL at dim_owner. Likewise
REDIS_URL for a local Redis. With DIM_EMBEDDED=1 nothing is probed (the embedded default).
With DIM_REQUIRE_SERVICES=1 (CI) a missing service is an error, never a skip.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
from urllib.parse import urlsplit, urlunsplit

OWNER, RUNTIME = "dim_owner", "dim_app"
LEGACY_PLATFORM = "dim_platform"  # granted to the runtime role by earlier versions


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.5):
            return True
    except OSError:
        return False


def _with(url: str, *, user: str, dbname: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}:{parts.port or 5432}"
    return urlunsplit(("postgres", netloc, f"/{dbname}", "", ""))


def prepare_postgres(admin_url: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:

        def role(name: str, attrs: str) -> None:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(f"{verb} ROLE {{}} {attrs}").format(sql.Identifier(name)))

        role(OWNER, "LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB")
        role(RUNTIME, "LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB NOCREATEROLE")
        legacy = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", [LEGACY_PLATFORM]
        ).fetchone()
        if legacy:
            conn.execute(
                sql.SQL("REVOKE {} FROM {}").format(
                    sql.Identifier(LEGACY_PLATFORM), sql.Identifier(RUNTIME)
                )
            )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [dbname]
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(OWNER)
            )
        )
    db_admin = urlunsplit(urlsplit(admin_url)._replace(path=f"/{dbname}"))
    with psycopg.connect(db_admin, autocommit=True) as conn:
        # PostgreSQL 15 no longer lets everyone create in `public`; the owner needs it.
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER)))
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(RUNTIME)))


def main() -> int:
    exports: dict[str, str] = {}
    require = os.environ.get("DIM_REQUIRE_SERVICES") == "1"
    if os.environ.get("DIM_EMBEDDED") == "1":
        for name in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            exports[name] = ""
    else:
        if not os.environ.get("DATABASE_URL"):
            admin_url = os.environ.get(
                "PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            )
            parts = urlsplit(admin_url)
            if _answers(parts.hostname or "127.0.0.1", parts.port or 5432):
                dbname = os.environ.get("DIM_TEST_DB", "dim_test")
                try:
                    prepare_postgres(admin_url, dbname)
                except Exception as exc:  # noqa: BLE001 - reported, then decided below
                    print(
                        f"# PostgreSQL answered but could not be prepared: {exc}", file=sys.stderr
                    )
                    if require:
                        return 1
                else:
                    exports["DATABASE_URL"] = _with(admin_url, user=RUNTIME, dbname=dbname)
                    exports["DATABASE_OWNER_URL"] = _with(admin_url, user=OWNER, dbname=dbname)
                    exports["DB_RUNTIME_ROLE"] = RUNTIME
            elif require:
                print("# PostgreSQL is required (CI) but does not answer", file=sys.stderr)
                return 1
        if not os.environ.get("REDIS_URL"):
            if _answers("127.0.0.1", 6379):
                exports["REDIS_URL"] = os.environ.get(
                    "DIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
                )
            elif require:
                print("# Redis is required (CI) but does not answer", file=sys.stderr)
                return 1
        if require:
            exports["DIM_REQUIRE_POSTGRES"] = "1"
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
