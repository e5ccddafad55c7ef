"""Proof that the application's Python code chose the tenant a connection acts in.

Row-level security reads the tenant from a session setting. A setting alone could be
forged by any SQL the runtime role runs (`SET app.tenant_id = ...` after an SQL
injection), so the database accepts a tenant only together with a proof:

    claim  = "<tenant id>" | "*" (platform access) | "" (nothing)
    proof  = HMAC-SHA256(key, "<claim>:<backend pid>:<client port>") as hex

The key is the application's secret (`DB_CONTEXT_KEY`, by default derived from
`SECRET_KEY`). `migrate`, running as the tables' owner, stores it in a table the runtime
role cannot read, and an owner-owned `SECURITY DEFINER` function recomputes the HMAC on
the server for every statement that reaches a scoped table (see `tenancy/rls.py`). The
pid and port are the server's own view of the session, which SQL cannot change, so a
proof read on one connection (or replayed from a log) is worthless on another.

Python's `hmac` computes the same bytes as the server's
`sha256(opad || sha256(ipad || message))`; the pads are stored instead of the key so
the server needs no extension (pgcrypto) for HMAC.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings
from django.utils.crypto import salted_hmac

PLATFORM_CLAIM = "*"
BLOCK = 64  # SHA-256's block size


@functools.cache
def context_key() -> bytes:
    configured = getattr(settings, "DB_CONTEXT_KEY", "")
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    return salted_hmac("dim.db-context-proof", "v1", algorithm="sha256").digest()


def pads(key: bytes | None = None) -> tuple[bytes, bytes]:
    """(ipad, opad): the key XORed with HMAC's inner and outer pads."""
    key = context_key() if key is None else key
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def key_fingerprint(key: bytes | None = None) -> str:
    """Names the key without revealing it (check_isolation compares the two sides)."""
    key = context_key() if key is None else key
    return hashlib.sha256(b"dim-context-key-fingerprint:" + key).hexdigest()[:16]


def proof(claim: str, pid: int, port: int, key: bytes | None = None) -> str:
    if not claim:
        return ""
    message = f"{claim}:{pid}:{port}".encode()
    return hmac.new(context_key() if key is None else key, message, hashlib.sha256).hexdigest()


# The session as the server sees it, which SQL cannot change: what a proof is bound to.
IDENT_SQL = "SELECT pg_backend_pid(), coalesce(inet_client_port(), 0)"


def claim_on(conn, claim: str, *, local: bool = False) -> None:
    """Set `claim` with its proof on a plain psycopg connection that is not one of the
    application's (a maintenance script's, a test's or the bench's owner connection):
    FORCEd row-level security holds for the tables' owner too, so it also needs a
    verified claim. `local`: for the current transaction only."""
    pid, port = conn.execute(IDENT_SQL).fetchone()
    conn.execute(
        "SELECT set_config('app.tenant_id', %s, %s), set_config('app.tenant_proof', %s, %s)",
        [claim, local, proof(claim, pid, port), local],
    )
