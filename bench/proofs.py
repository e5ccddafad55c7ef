"""The tenant claim and its proof for connections the bench opens itself.

Our backend sets both on every connection it uses (tenancy/db/proof.py); the bench's
bare psycopg connections (the owner's loaders, the raw-SQL peers) must do the same, or
RLS shows them nothing: the owner is fenced by FORCE too.

pgbench cannot compute an HMAC, and its connections' pids are unknown beforehand. For
it alone the bench creates, as the owner, a function that sets the proof for the
calling connection, and drops it afterwards (`pgbench_prover()`): while it exists the
runtime role can claim any tenant, so it lives only for the pgbench run, only in the
bench database, and the script calls it once per connection.
"""

from __future__ import annotations

import contextlib

from tenancy import rls
from tenancy.db import proof

PROVER = "dim_bench_prove"


prove = proof.claim_on  # the bench's bare connections set their claim like any script


# Once per pgbench client (its variables live as long as its connection): pgbench has no
# "is this variable set" test, so the caller passes `-D proved=0` (PGBENCH_DEFINES).
PGBENCH_PROLOGUE = (
    "\\if :proved = 0\n"
    f"SELECT 1 AS proved FROM (SELECT public.{PROVER}(:tenant)) AS claim \\gset\n"
    "\\endif\n"
)
PGBENCH_DEFINES = ["-D", "proved=0"]


@contextlib.contextmanager
def pgbench_prover(owner_conn, runtime_role: str):
    body = (
        "SELECT set_config('app.tenant_id', claim, false) || set_config('app.tenant_proof', "
        "encode(sha256(k.opad || sha256(k.ipad || convert_to(claim || ':' || pg_backend_pid() "
        "|| ':' || coalesce(inet_client_port(), 0), 'UTF8'))), 'hex'), false) "
        f"FROM public.{rls.KEY_TABLE} k WHERE k.id = 1"
    )
    owner_conn.execute(
        f"CREATE OR REPLACE FUNCTION public.{PROVER}(claim text) RETURNS text LANGUAGE sql "
        f"VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $dim${body}$dim$"
    )
    owner_conn.execute(f'GRANT EXECUTE ON FUNCTION public.{PROVER}(text) TO "{runtime_role}"')
    owner_conn.commit()
    try:
        yield
    finally:
        owner_conn.rollback()
        owner_conn.execute(f"DROP FUNCTION IF EXISTS public.{PROVER}(text)")
        owner_conn.commit()
