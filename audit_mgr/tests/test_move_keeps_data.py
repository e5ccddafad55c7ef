"""Moving the audit log from security_mgr to audit_mgr changed Django's state only: a
database holding entries, nodes and signed heads before the move verifies after it,
with the same entries and the same tree heads.

Runs `manage.py` in subprocesses against a scratch database that the owner role creates
(as scripts/services.py creates the test database) and drops afterwards: migrations as
the owner, appends as the runtime role, exactly as a deployment does."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from tests.markers import postgres_only

ROOT = Path(__file__).resolve().parents[2]
BEFORE_MOVE = [("security_mgr", "0013_rewrap_jobs_to_jobs_mgr"), ("audit_mgr", None)]

# Two tenants with entries and signed heads, and a snapshot of every log: what is
# compared before and after the move.
APPEND = """
import audit_mgr as audit
from tenancy.context import tenant_context
from tenancy.models import Tenant

for slug, count in (("move-a", 7), ("move-b", 12)):
    tenant = Tenant.objects.create(slug=slug, name=slug)
    with tenant_context(tenant):
        audit.append_many([("test.before_move", {"i": i}) for i in range(count)])
        audit.sign_tree_head()
        audit.append("test.unsigned_tail", {"slug": slug})
        audit.sign_tree_head()
audit.append("test.platform", {}, log=audit.platform_log())
"""
SNAPSHOT = """
import json
import audit_mgr as audit
from tenancy.context import no_tenant, tenant_context
from tenancy.models import Tenant

def heads(log):
    return [(h.tree_size, bytes(h.root_hash).hex(), h.key_id) for h in log.heads()]

def entries(log):
    return [(e.seq, e.event, bytes(e.leaf_hash).hex()) for e in log.entries().order_by("seq")]

snapshot = {}
for tenant in Tenant.objects.order_by("slug"):
    with tenant_context(tenant):
        log = audit.tenant_log()
        snapshot[tenant.slug] = {"entries": entries(log), "heads": heads(log)}
with no_tenant():
    log = audit.platform_log()
    snapshot["(platform)"] = {"entries": entries(log), "heads": heads(log)}
print(json.dumps(snapshot))
"""


def _url(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


@pytest.fixture
def scratch_database():
    """A database created by the owner role (CREATEDB), prepared as scripts/services.py
    prepares the test database, and dropped afterwards."""
    import psycopg
    from psycopg import sql

    owner_url = os.environ.get("DATABASE_OWNER_URL")
    if not owner_url:
        pytest.fail("needs DATABASE_OWNER_URL (the owner role creates the scratch database)")
    name = f"dim_audit_move_{uuid.uuid4().hex[:8]}"
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


def _manage(database_url: str, runtime_role: str, *args: str) -> str:
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


def _verified(db) -> dict:
    reports = json.loads(_manage(db["runtime"], db["role"], "verify_audit", "--json"))
    assert all(report["ok"] for report in reports), reports
    return {report["log"]: report["entries"] for report in reports}


def _applied(db) -> set:
    import psycopg

    with psycopg.connect(db["owner"]) as conn:
        rows = conn.execute(
            "SELECT app, name FROM django_migrations WHERE app IN ('security_mgr', 'audit_mgr')"
        ).fetchall()
    return set(rows)


@postgres_only("the move is tested on a PostgreSQL database with row-level security")
@pytest.mark.postgres
def test_moving_the_audit_log_to_audit_mgr_keeps_every_entry_and_tree_head(scratch_database):
    db = scratch_database
    # A fresh database migrates to the latest state; then back to the state before the
    # move: security_mgr at its last migration that owned the log, audit_mgr unapplied.
    _manage(db["owner"], db["role"], "migrate", "--no-input", "-v", "0")
    _manage(db["owner"], db["role"], "migrate", "audit_mgr", "zero", "--no-input", "-v", "0")
    applied = _applied(db)
    assert ("security_mgr", "0013_rewrap_jobs_to_jobs_mgr") in applied
    assert not {row for row in applied if row[0] == "audit_mgr" or row[1].startswith("0014")}

    _manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", APPEND)
    before_counts = _verified(db)
    before = json.loads(_manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", SNAPSHOT))
    # The platform log: each tenant's key ring (`key.ring_created`) and the test's entry.
    assert before_counts == {"move-a": 8, "move-b": 13, "(platform)": 3}
    assert [len(before[slug]["heads"]) for slug in ("move-a", "move-b")] == [2, 2]

    _manage(db["owner"], db["role"], "migrate", "--no-input", "-v", "0")
    applied = _applied(db)
    assert ("audit_mgr", "0001_initial") in applied
    assert ("security_mgr", "0014_audit_log_to_audit_mgr") in applied

    assert _verified(db) == before_counts
    after = json.loads(_manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", SNAPSHOT))
    assert after == before
