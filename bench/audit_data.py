"""Bench data: one tenant's audit log of 2^20 entries (the quick run: 100,000), with
every stored subtree node, a head and a signed tree head: what the sequencer would have
written, generated in Python and COPied in as the owner (idempotent, like the others).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

from psycopg import sql

import audit_mgr as audit
from audit_mgr.logs import micros
from bench.datasets import QUICK_ROWS, _marker, _set_marker, load_tenants, owner_connection
from bench.proofs import prove
from tenancy.context import TenantRef, tenant_context

FULL_SIZE = 1 << 20
TENANT_INDEX = 5  # bench-005: no other row writes there
ENTRY, NODE = "security_mgr_auditentry", "security_mgr_auditnode"
OTHERS = (
    "security_mgr_auditloghead",
    "security_mgr_signedtreehead",
    "security_mgr_pendingauditentry",
)
CHUNK = 50_000
BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class AuditLogSet:
    tenant: TenantRef
    size: int
    signed_root: bytes
    loaded_now: bool
    load_seconds: float

    def describe(self) -> str:
        how = "generated and COPied" if self.loaded_now else "reused"
        return (
            f"log of {self.size:,} entries (+ {self.size - self.size.bit_count():,} stored "
            f"nodes) in PostgreSQL, {how} in {self.load_seconds:.0f} s; tree head signed"
        )


def _entries_and_nodes(tenant_id: int, size: int):
    """Yield COPY chunks of entries, then of nodes; returns (frontier, root) at the end.
    The entries are exactly what `audit.append` + the sequencer write (verify_audit
    accepts them); the hashing is inlined because it runs ~12 M times."""
    sha = hashlib.sha256
    label = audit.tenant_log(tenant_id).label
    frontier: list[bytes] = []
    nodes: list[str] = []
    lines: list[str] = []
    base_us = micros(BASE)
    for seq in range(size):
        at_us = base_us + seq
        data = audit.data_from_parts(label, seq, "bench.event", "bench", at_us, f'{{"i":{seq}}}')
        leaf = sha(b"\x00" + data.encode()).digest()
        frontier.append(leaf)
        n, level = seq, 0
        while n & 1:
            right = frontier.pop()
            frontier[-1] = sha(b"\x01" + frontier[-1] + right).digest()
            n >>= 1
            level += 1
            nodes.append(f"{tenant_id}\t{level}\t{seq >> level}\t\\\\x{frontier[-1].hex()}\n")
        root = frontier[-1]
        for left in reversed(frontier[:-1]):
            root = sha(b"\x01" + left + root).digest()
        created = (BASE + dt.timedelta(microseconds=seq)).isoformat()
        # The generated data has no tab, newline or backslash: COPY text needs no escaping.
        lines.append(
            f"{tenant_id}\t{seq}\tbench.event\tbench\t{created}\t{data}\t"
            f"\\\\x{leaf.hex()}\t\\\\x{root.hex()}\n"
        )
        if len(lines) == CHUNK:
            yield ENTRY, "".join(lines)
            lines = []
        if len(nodes) >= CHUNK:
            yield NODE, "".join(nodes)
            nodes = []
    if lines:
        yield ENTRY, "".join(lines)
    if nodes:
        yield NODE, "".join(nodes)
    yield "head", (frontier, root)


def _force(conn, on: bool) -> None:
    for table in (ENTRY, NODE):
        statement = "ALTER TABLE {} FORCE ROW LEVEL SECURITY"
        if not on:
            statement = statement.replace("FORCE", "NO FORCE")
        conn.execute(sql.SQL(statement).format(sql.Identifier(table)))


def _reload(conn, tenant_id: int, size: int) -> None:
    """One transaction. COPY FROM refuses tables under RLS (FORCE fences the owner too):
    as for the document set, FORCE is lifted inside this transaction only, under the
    exclusive lock ALTER TABLE holds until commit, and restored before committing."""
    _force(conn, False)
    prove(conn, str(tenant_id), local=True)
    for table in (ENTRY, NODE, *OTHERS):
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
            [tenant_id],
        )
    copies = {
        ENTRY: "COPY security_mgr_auditentry (tenant_id, seq, event, actor, created_at, data, "
        "leaf_hash, root_hash) FROM STDIN",
        NODE: 'COPY security_mgr_auditnode (tenant_id, level, "index", hash) FROM STDIN',
    }
    with conn.cursor() as cursor:
        for table, chunk in _entries_and_nodes(tenant_id, size):
            if table == "head":
                frontier, root = chunk
                break
            with cursor.copy(copies[table]) as copy:
                copy.write(chunk)
    from audit_mgr.seal import head_seal

    conn.execute(
        "INSERT INTO security_mgr_auditloghead (tenant_id, size, frontier, root_hash, seal, "
        "updated_at) VALUES (%s, %s, %s, %s, %s, now())",
        [
            tenant_id,
            size,
            json.dumps([h.hex() for h in frontier]),
            root,
            head_seal(f"tenant:{tenant_id}", size, root),  # as the sequencer seals it
        ],
    )
    # The tenant foreign keys are DEFERRABLE INITIALLY DEFERRED, and ALTER TABLE refuses
    # a table with pending trigger events: check them now, before FORCE comes back.
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _force(conn, True)
    _set_marker(conn, "audit_log", size)
    conn.commit()


def load_audit_log(ctx) -> AuditLogSet:
    tenants = ctx.once(load_tenants)
    ref = TenantRef(tenants.ids[TENANT_INDEX], tenants.slugs[TENANT_INDEX])
    size = ctx.rows or (QUICK_ROWS if ctx.quick else FULL_SIZE)
    start = time.perf_counter()
    with owner_connection() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_marker (name text PRIMARY KEY, value bigint NOT NULL)"
        )
        prove(conn, str(ref.id))
        head = conn.execute("SELECT size FROM security_mgr_auditloghead").fetchone()
        loaded_now = not (_marker(conn, "audit_log") == size and head and head[0] == size)
        if loaded_now:
            _reload(conn, ref.id, size)
            conn.autocommit = True  # VACUUM refuses to run inside a transaction
            for table in (ENTRY, NODE):
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    with tenant_context(ref):
        sth = audit.sign_tree_head()
    if sth.tree_size != size:
        raise AssertionError(f"the loaded log has {sth.tree_size} entries, not {size}")
    return AuditLogSet(ref, size, bytes(sth.root_hash), loaded_now, time.perf_counter() - start)
