"""Foundation rows: what tenant scoping, RLS and the tenant-aware API cost compared with
the same work on an unscoped twin table (bench/models.py), in the same run."""

from __future__ import annotations

import base64
import os
import random
from itertools import cycle

import psycopg
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.datasets import PLAIN_DOC_TABLE, load_api, load_documents
from bench.harness import Goal, Outcome, compare, register
from bench.models import PlainDocument
from tenancy.context import TenantRef, tenant_context
from tenancy.db import proof
from tenancy.db.postgresql.base import desired_claim
from tenancy.models import TenantSetting
from tests.scoping_app.models import Document

RATIO_110 = Goal(1.10)


def _ref(tenant_id: int) -> TenantRef:
    return TenantRef(tenant_id, f"t{tenant_id}")


def _plan(text_rows) -> str:
    """A one-line EXPLAIN, for the legend of RESULTS.md."""
    return " / ".join(" ".join(line.split()) for line in text_rows if line.strip())


def _data_note(docs) -> str:
    how = f"loaded now in {docs.load_seconds:.1f} s" if docs.loaded_now else "reused"
    return f"{docs.total:,} documents over {len(docs.tenants.ids)} tenants in each table ({how})"


# --- a. ORM point lookup ----------------------------------------------------------------


@register(
    "tenancy.orm_get",
    title="Scoped ORM point lookup",
    ours="`Document.objects.get(pk=…)` inside `tenant_context` (ORM scoping + RLS)",
    peer="`PlainDocument.objects.get(pk=…)` on the unscoped twin table (no scoping, no RLS)",
    goal=RATIO_110,
)
def orm_get(ctx):
    docs = ctx.once(load_documents)
    ours_pk, peer_pk = cycle(docs.sample_ids).__next__, cycle(docs.sample_ids).__next__
    # Both sides run in the same context, so the connection never switches tenant and
    # the peer's unscoped model is unaffected by it: only scoping and RLS differ.
    with tenant_context(_ref(docs.tenant_id)):
        ours, peer = compare(
            lambda: Document.objects.get(pk=ours_pk()),
            lambda: PlainDocument.objects.get(pk=peer_pk()),
            ctx.iters(6000, 600),
            warmup=ctx.iters(500, 100),
        )
        pk = docs.sample_ids[0]
        plans = (
            Document.objects.filter(pk=pk).explain(),
            PlainDocument.objects.filter(pk=pk).explain(),
        )
    return Outcome(
        ours,
        peer,
        notes=(
            _data_note(docs),
            f"plan ours: {_plan(plans[0].splitlines())}",
            f"plan peer: {_plan(plans[1].splitlines())}",
        ),
    )


# --- b. ORM filtered count --------------------------------------------------------------


@register(
    "tenancy.orm_count",
    title="Scoped filtered count",
    ours="`Document.objects.filter(size__gt=X).count()` inside `tenant_context`",
    peer="`PlainDocument.objects.filter(tenant_id=T, size__gt=X).count()` (explicit filter)",
    goal=RATIO_110,
)
def orm_count(ctx):
    docs = ctx.once(load_documents)
    rng = random.Random(7)
    thresholds = [rng.randrange(0, 100_000) for _ in range(500)]
    ours_x, peer_x = cycle(thresholds).__next__, cycle(thresholds).__next__
    tenant_id = docs.tenant_id
    with tenant_context(_ref(tenant_id)):
        assert Document.objects.filter(size__gt=5).count() == (
            PlainDocument.objects.filter(tenant_id=tenant_id, size__gt=5).count()
        )
        ours, peer = compare(
            lambda: Document.objects.filter(size__gt=ours_x()).count(),
            lambda: PlainDocument.objects.filter(tenant_id=tenant_id, size__gt=peer_x()).count(),
            ctx.iters(1500, 200),
            warmup=ctx.iters(100, 20),
        )
        plans = (
            Document.objects.filter(size__gt=50_000).explain(),
            PlainDocument.objects.filter(tenant_id=tenant_id, size__gt=50_000).explain(),
        )
    per_tenant = docs.total // len(docs.tenants.ids)
    return Outcome(
        ours,
        peer,
        notes=(
            f"~{per_tenant:,} rows per tenant scanned",
            f"plan ours: {_plan(plans[0].splitlines())}",
            f"plan peer: {_plan(plans[1].splitlines())}",
        ),
    )


# --- c. Raw SQL, RLS vs no RLS ----------------------------------------------------------

RAW_SQL = "SELECT id, title, size FROM {table} WHERE tenant_id = %s AND title = %s"


@register(
    "tenancy.raw_rls_lookup",
    title="Raw indexed lookup, RLS vs no RLS",
    ours="psycopg as the runtime role, the tenant claim and its proof set: `SELECT … WHERE "
    "tenant_id = $1 AND title = $2` on the RLS-forced scoped table (the policy verifies "
    "the proof's HMAC once per statement)",
    peer="the same statement on the plain twin table (no RLS)",
    goal=RATIO_110,
)
def raw_rls_lookup(ctx):
    docs = ctx.once(load_documents)
    tenant_id = docs.tenant_id
    ours_sql = RAW_SQL.format(table="scoping_app_document")
    peer_sql = RAW_SQL.format(table=PLAIN_DOC_TABLE)
    ours_t, peer_t = cycle(docs.sample_titles).__next__, cycle(docs.sample_titles).__next__
    # A bare psycopg connection: no Django, no cursor wrapper, just the database.
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        _claim(conn, str(tenant_id))
        title = docs.sample_titles[0]
        for query in (ours_sql, peer_sql):
            assert len(conn.execute(query, [tenant_id, title]).fetchall()) == 1
        ours, peer = compare(
            lambda: conn.execute(ours_sql, [tenant_id, ours_t()]).fetchall(),
            lambda: conn.execute(peer_sql, [tenant_id, peer_t()]).fetchall(),
            ctx.iters(20000, 2000),
            warmup=ctx.iters(1000, 200),
        )
        plans = [
            [r[0] for r in conn.execute("EXPLAIN " + q, [tenant_id, title]).fetchall()]
            for q in (ours_sql, peer_sql)
        ]
    return Outcome(
        ours,
        peer,
        notes=(
            _data_note(docs),
            "psycopg prepares both statements after 5 executions (server-side plans)",
            f"plan ours: {_plan(plans[0])}",
            f"plan peer: {_plan(plans[1])}",
        ),
    )


_claim = proof.claim_on  # what the backend sends: the claim and its proof


# --- d. API list through the tenant stack -----------------------------------------------


def _api_client(api) -> Client:
    token = base64.b64encode(f"{api.username}:{api.password}".encode()).decode()
    return Client(headers={"Authorization": f"Basic {token}", "X-Tenant": api.tenant.slug})


OURS_URL, PEER_URL = "/api/v1/settings/", "/api/bench/plain-settings/"


@register(
    "tenancy.api_list",
    title="API list through the whole tenant stack",
    ours=f"`GET {OURS_URL}` (Basic auth, `X-Tenant`, membership resolution, scoped "
    "viewset, RLS), in-process Django test client",
    peer=f"`GET {PEER_URL}`: plain DRF `ListAPIView` over the unscoped twin table holding "
    "the same rows; same auth, pagination, filters and serializer fields",
    goal=Goal(1.15),
)
def api_list(ctx):
    api = ctx.once(load_api)
    client = _api_client(api)
    ours_body, peer_body = client.get(OURS_URL), client.get(PEER_URL)
    for response in (ours_body, peer_body):
        assert response.status_code == 200, (response.status_code, response.content[:300])
    # Same rows, same shape: the comparison is like for like.
    assert ours_body.json()["results"] == peer_body.json()["results"]
    assert ours_body.json()["count"] == api.rows
    ours, peer = compare(
        lambda: client.get(OURS_URL),
        lambda: client.get(PEER_URL),
        ctx.iters(1500, 200),
        warmup=ctx.iters(100, 20),
    )
    ours_q, ours_rt = _queries_per_request(client, OURS_URL)
    peer_q, peer_rt = _queries_per_request(client, PEER_URL)
    return Outcome(
        ours,
        peer,
        notes=(
            f"{api.rows} settings in the tenant (10 tenants share the scoped table), "
            "page size 50; MD5 hasher on both sides",
            f"database round trips per request (steady state): ours {ours_q} queries + "
            f"{ours_rt} set_config, peer {peer_q} queries + {peer_rt} set_config",
        ),
    )


def _queries_per_request(client, url) -> tuple[int, int]:
    """(ORM/cursor queries, set_config round trips of their own) of a request that
    follows a request to the same URL: the steady state of a connection serving it."""
    client.get(url)
    before = connection.tenant_setting_round_trips
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return len(queries), connection.tenant_setting_round_trips - before


# --- e. set_config round trips per request ----------------------------------------------


def _round_trips_per_request(ctx, prime_tenant) -> tuple[float, float]:
    """Average set_config round trips of their own, and claim switches (pipelined or
    not), of one API request after putting the connection in `prime_tenant`'s state."""
    api = ctx.once(load_api)
    client = _api_client(api)
    client.get(OURS_URL)
    requests = ctx.iters(100, 20)
    trips = sends = 0
    for _ in range(requests):
        with tenant_context(prime_tenant):
            TenantSetting.objects.exists()  # the connection now carries prime_tenant
        trips_before, sends_before = (
            connection.tenant_setting_round_trips,
            connection.tenant_setting_sends,
        )
        assert client.get(OURS_URL).status_code == 200
        trips += connection.tenant_setting_round_trips - trips_before
        sends += connection.tenant_setting_sends - sends_before
    return trips / requests, sends / requests


def _round_trip_row(ctx, prime):
    api = ctx.once(load_api)
    tenant = api.tenant if prime == "same" else api.other_tenant
    per_request, switches = _round_trips_per_request(ctx, tenant)
    return Outcome(
        value=per_request,
        ours_text=f"{per_request:g} round trips/request",
        notes=(
            f"{switches:g} claim switches per request (authentication runs with no tenant, "
            "the view in the request's), each sent in the same round trip as its statement "
            "(pipeline mode)",
        ),
    )


@register(
    "tenancy.round_trips_same_tenant",
    title="set_config round trips per request, connection already on the tenant",
    ours="`connection.tenant_setting_round_trips` delta over one API list request, the "
    "connection carrying the request's tenant beforehand",
    peer="none (absolute goal)",
    goal=Goal(0, metric="round trips/request"),
)
def round_trips_same(ctx):
    return _round_trip_row(ctx, "same")


@register(
    "tenancy.round_trips_other_tenant",
    title="set_config round trips per request, connection on another tenant",
    ours="the same delta, the connection carrying another tenant beforehand",
    peer="none (absolute goal)",
    goal=Goal(1, metric="round trips/request"),
)
def round_trips_other(ctx):
    return _round_trip_row(ctx, "other")


# --- f. context switches on one connection ----------------------------------------------

SWITCH_SQL = "SELECT id, title FROM scoping_app_document WHERE tenant_id = %s AND id = %s"


@register(
    "tenancy.context_switch",
    title="Alternating tenants A/B on one connection",
    ours="our backend: each 'request' enters the other tenant's context and runs one "
    "indexed lookup; the claim and its proof ride in the same round trip (pipeline)",
    peer="plain `set_config` of the same claim and proof, then the same lookup: two "
    "round trips (what a backend that sets the tenant per request does)",
    goal=Goal(1.0),
)
def context_switch(ctx):
    docs = ctx.once(load_documents)
    tenants = [
        docs.tenant_id,
        docs.tenants.ids[1] if docs.tenants.ids[0] == docs.tenant_id else docs.tenants.ids[0],
    ]
    refs = [_ref(t) for t in tenants]
    ids = cycle(docs.sample_ids).__next__
    flip = cycle([0, 1]).__next__
    connection.ensure_connection()

    def ours():
        side = flip()
        with tenant_context(refs[side]), connection.cursor() as cursor:
            cursor.execute(SWITCH_SQL, [tenants[side], ids()])
            return cursor.fetchall()

    peer_flip = cycle([0, 1]).__next__
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        pid, port = conn.execute(proof.IDENT_SQL).fetchone()
        proofs = [proof.proof(str(t), pid, port) for t in tenants]

        def peer():
            side = peer_flip()
            conn.execute(
                "SELECT set_config('app.tenant_id', %s, false), "
                "set_config('app.tenant_proof', %s, false)",
                [str(tenants[side]), proofs[side]],
            )
            return conn.execute(SWITCH_SQL, [tenants[side], ids()]).fetchall()

        trips, sends = connection.tenant_setting_round_trips, connection.tenant_setting_sends
        ours_stats, peer_stats = compare(
            ours, peer, ctx.iters(20000, 2000), warmup=ctx.iters(1000, 200)
        )
        trips = connection.tenant_setting_round_trips - trips
        sends = connection.tenant_setting_sends - sends
    calls = ctx.iters(20000, 2000) + ctx.iters(1000, 200)
    return Outcome(
        ours_stats,
        peer_stats,
        notes=(
            _data_note(docs),
            f"ours: {sends / calls:.2f} claim switches and {trips / calls:.3f} extra round "
            "trips per request; peer: 1 set_config round trip per request",
            f"claim now: {desired_claim()!r}",
        ),
    )
