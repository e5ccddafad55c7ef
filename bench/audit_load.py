"""Sustained load on the audit log for the `security.audit_append` row.

Producers append one entry per durable transaction, as audited actions do, while a
sequencer numbers the queue the way the production worker does (deferred mode: the
Celery task runs `audit.sequence_pending` for the log; here a thread of the bench
process runs the same function, once per `SEQUENCER_TICK`). Two kinds of producers:

- `pgbench` (C, PostgreSQL's own load generator): 8 connections of the runtime role,
  tenant set on the connection as our backend sets it, each sending exactly what
  `with transaction.atomic(): audit.append(...)` sends: BEGIN, the INSERT that
  `append()` builds (rendered by our own code), COMMIT. This loads the log (queue,
  row-level security, sequencing, Merkle nodes, durable commits) without spending the
  machine's two cores on the producers' Python, which in a deployment runs on the
  application servers.
- Python processes running `audit.append()` itself (bench/audit_producer.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

import audit_mgr as audit
from audit_mgr import store
from audit_mgr.logs import canonical_payload, micros
from bench.datasets import owner_connection
from bench.proofs import PGBENCH_DEFINES, PGBENCH_PROLOGUE, pgbench_prover
from tenancy.context import TenantRef, tenant_context

PLAIN_AUDIT_TABLE = "bench_plain_audit"  # the peer: an append-only table, nothing more
PGBENCH_CLIENTS = 8
SEQUENCER_TICK = 0.25  # s between drains: 4 producers each asking once a second
ROOT = Path(__file__).resolve().parents[1]


def ensure_plain_audit_table() -> None:
    """What django-auditlog or simple-history keep: one row per event, no proofs."""
    pending = audit.tenant_log(1).pending_model._meta.db_table
    with owner_connection() as conn:
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING ALL)").format(
                sql.Identifier(PLAIN_AUDIT_TABLE), sql.Identifier(pending)
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
                sql.Identifier(PLAIN_AUDIT_TABLE),
                sql.Identifier(settings.DB_RUNTIME_ROLE or "dim_app"),
            )
        )
        conn.commit()


def append_statement(ref: TenantRef, *, plain: bool = False) -> str:
    """The INSERT `audit.append()` sends for one entry (the statement it caches per log),
    with its values inlined as psycopg's client-side binding sends them."""
    with tenant_context(ref):
        log = audit.tenant_log()
        statement = store._one_pending_row_sql(log, connection.alias)
        payload = canonical_payload({"note": "x" * 40})
        params = (ref.id, "bench.event", "bench", micros(timezone.now()), payload)
    if plain:
        statement = statement.replace(log.pending_model._meta.db_table, PLAIN_AUDIT_TABLE)
    return connection.ops.compose_sql(statement, params)


@dataclass
class Sequencer:
    """The worker's part: drain the log every tick until told to stop, then drain
    what is left. Records when the last entry was numbered, batch sizes and CPU."""

    ref: TenantRef
    sequenced: int = 0
    batches: list[int] = field(default_factory=list)
    cpu_s: float = 0.0
    last_at: float = 0.0
    error: BaseException | None = None

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        try:
            cpu = time.thread_time()
            with tenant_context(self.ref):
                log = audit.tenant_log()
                while True:
                    stopping = self._stop.is_set()
                    done = audit.sequence_pending(log)
                    if done:
                        self.sequenced += done
                        self.batches.append(done)
                        self.last_at = time.perf_counter()
                    if stopping and not done:
                        break
                    if not done or not stopping:
                        time.sleep(SEQUENCER_TICK)
            self.cpu_s = time.thread_time() - cpu
        except BaseException as exc:  # noqa: BLE001  (re-raised by finish())
            self.error = exc
        finally:
            connection.close()

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(300)
        if self.error is not None:
            raise self.error


def db_user() -> str:
    return settings.DATABASES["default"]["USER"]


def _libpq_env(ref: TenantRef) -> tuple[list[str], dict]:
    db = settings.DATABASES["default"]
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return [*args, db["NAME"]], env


def run_pgbench(ref: TenantRef, statement: str, seconds: float) -> dict:
    """8 connections, each: BEGIN; the statement; COMMIT, for `seconds`. Returns the
    transactions done and pgbench's average latency (ms)."""
    target, env = _libpq_env(ref)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        # Once per connection: the tenant claim and its proof, as our backend sets them.
        script.write(f"{PGBENCH_PROLOGUE}BEGIN;\n{statement};\nCOMMIT;\n")
    try:
        with owner_connection() as owner, pgbench_prover(owner, db_user()):
            out = subprocess.run(
                [
                    "pgbench",
                    "-n",
                    "-M",
                    "simple",
                    "-f",
                    script.name,
                    "-c",
                    str(PGBENCH_CLIENTS),
                    "-j",
                    "2",
                    "-T",
                    str(int(seconds)),
                    "-D",
                    f"tenant='{ref.id}'",
                    *PGBENCH_DEFINES,
                    *target,
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=seconds + 120,
            )
    except FileNotFoundError:
        raise RuntimeError("pgbench not found (Debian: apt-get install postgresql-client)")
    finally:
        os.unlink(script.name)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr.strip()[-500:]}")
    done = int(re.search(r"number of transactions actually processed: (\d+)", out.stdout)[1])
    latency = float(re.search(r"latency average = ([\d.]+) ms", out.stdout)[1])
    return {"transactions": done, "latency_ms": latency}


def run_python_producers(ref: TenantRef, processes: int, seconds: float, mode: str) -> int:
    """`processes` fresh interpreters running bench/audit_producer.py; returns the
    entries they committed."""
    job = json.dumps({"tenant_id": ref.id, "seconds": seconds, "mode": mode}) + "\n"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.audit_producer"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for proc in procs:
            proc.stdin.write(job)
            proc.stdin.flush()
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("an audit producer failed to start")
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return sum(int(proc.stdout.readline()) for proc in procs)
    finally:
        for proc in procs:
            proc.wait(timeout=seconds + 60)
