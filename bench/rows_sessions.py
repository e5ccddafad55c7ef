"""Session manager rows (issue 3): create, validate, propagation, HTTP, memory."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

from django.contrib.auth import get_user_model

from bench.broker import tasks_to_unconsumed_broker
from bench.harness import Goal, Outcome, Stats, compare, measure, register
from sessions_mgr.actions import do_create_session, do_revoke_session
from sessions_mgr.fastpath import ensure_listener, get_view, stop_listener
from sessions_mgr.validation import validate
from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant

ROOT = Path(__file__).resolve().parents[1]
SLUG, USERNAME = "bench-sessions", "bench-session-user"


USERS = 2000


@dataclass(frozen=True)
class SessionSet:
    tenant: Tenant
    user: object
    user_ids: list[int]  # members that the create row logs in round robin


def load_sessions(ctx) -> SessionSet:
    tenant, _ = Tenant.objects.get_or_create(slug=SLUG, defaults={"name": "Bench sessions"})
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=USERNAME)
    names = [f"{USERNAME}-{n:05d}" for n in range(USERS)]
    User.objects.bulk_create([User(username=n) for n in names], ignore_conflicts=True)
    user_ids = list(User.objects.filter(username__in=names).values_list("pk", flat=True))
    with tenant_context(tenant):  # memberships are written in their tenant's context
        Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.OWNER})
        Membership.objects.bulk_create(
            [Membership(user_id=uid, tenant=tenant, role=Role.MEMBER) for uid in user_ids],
            ignore_conflicts=True,
        )
    return SessionSet(tenant, user, user_ids)


def _trusted_view() -> None:
    """A real listener (Redis pub/sub + resync), as in a server process."""
    from django.conf import settings

    settings.SESSION_FASTPATH_LISTENER = True  # the test settings turn it off
    ensure_listener()
    deadline = time.monotonic() + 10
    while not get_view().healthy:
        if time.monotonic() > deadline:
            raise RuntimeError("session view listener did not become healthy (Redis?)")
        time.sleep(0.01)


# --- create -------------------------------------------------------------------------------


@register(
    "sessions.create",
    title="Create a session with its durable record",
    ours="`do_create_session()`: concurrency-limit check, INSERT of the session and of its "
    "`session.created` audit entry in one statement under RLS, commit without "
    "waiting for the WAL flush (docs/sessions.md), on PostgreSQL; the entry's sequencing, a "
    "worker's job, is measured apart (notes); Django's session store writes no audit "
    "record",
    peer="Django's database `SessionStore().create()` (django_session table), same database",
    goal=Goal(0.5),
)
def create(ctx):
    from django.contrib.sessions.backends.db import SessionStore

    import audit_mgr as audit

    data = ctx.once(load_sessions)
    tid = data.tenant.pk
    # Logins spread over USERS members, so each has a handful of live sessions (below
    # the concurrency limit), as in real life.
    ours_user, peer_user = cycle(data.user_ids).__next__, cycle(data.user_ids).__next__

    def ours():
        do_create_session(tenant_id=tid, user_id=ours_user())

    def peer():
        store = SessionStore()
        store["_auth_user_id"] = str(peer_user())
        store.create()

    with tenant_context(data.tenant):
        log = audit.tenant_log(tid)
        audit.sequence_pending(log)  # whatever earlier rows left queued
        with tasks_to_unconsumed_broker() as sent:
            ours_s, peer_s = compare(ours, peer, ctx.iters(3000, 300), warmup=ctx.iters(200, 50))
        queued = audit.pending_status(log)["count"]
        started = time.perf_counter()
        sequenced = audit.sequence_pending(log)
        sequencing_s = time.perf_counter() - started
    per_entry_us = sequencing_s / max(sequenced, 1) * 1e6
    if sequenced != queued:
        raise RuntimeError(f"{queued} entries queued, {sequenced} sequenced")
    return Outcome(
        ours_s,
        peer_s,
        notes=(
            f"ours p95 {ours_s.p95_us / 1000:.2f} ms (goal ≤ 1 ms); throughput ratio "
            f"ours/peer {ours_s.ops_per_s / peer_s.ops_per_s:.2f}× (goal ≥ 2×)",
            f"audit sequencing, not in the figures above: the create calls asked for it "
            f"{len(sent)} times (`sequence_soon`: at most once a second; the task is sent "
            f"to a worker, here to an in-process broker that nobody consumes, instead of "
            f"running inside a measured call); the {sequenced} queued `session.created` "
            f"entries were then "
            f"sequenced in {sequencing_s * 1000:.0f} ms ({per_entry_us:.0f} µs per entry of a "
            "worker's time, in batches of up to 1000)",
        ),
    )


# --- validate -----------------------------------------------------------------------------


def _validation_setup(ctx):
    data = ctx.once(load_sessions)
    _trusted_view()
    _session, token = do_create_session(tenant_id=data.tenant.pk, user_id=data.user.pk)
    validate(token)  # first sight loads the session into the view
    return token


@register(
    "sessions.validate_rate",
    title="Validate a token in-process (signature, tenant, expiry, revocation)",
    ours="`validate(token)` on a healthy session view (no database, no Redis)",
    peer="PyJWT HS256 `jwt.decode()` (signature and expiry only, no revocation)",
    goal=Goal(10.0, "ours µs per validation (1e6 / ops/s; ≤ 10 ⇔ ≥ 100k/s)"),
)
def validate_rate(ctx):
    import jwt

    token = _validation_setup(ctx)
    key = os.urandom(32)
    jwt_token = jwt.encode({"sub": "1", "tid": 1, "exp": int(time.time()) + 3600}, key, "HS256")
    try:
        ours, peer = compare(
            lambda: validate(token),
            lambda: jwt.decode(jwt_token, key, algorithms=["HS256"]),
            ctx.iters(200_000, 20_000),
            warmup=ctx.iters(5000, 1000),
        )
        counters = get_view().counters.as_dict()
    finally:
        stop_listener()  # other rows run in this process too: no thread of ours there
    return Outcome(
        ours,
        peer,
        value=1e6 / ours.ops_per_s,
        notes=(
            f"ours p95 {ours.p95_us:.1f} µs (goal ≤ 50 µs), {ours.ops_per_s:,.0f} validations/s "
            f"on one core (goal ≥ 100,000); ours/PyJWT p50 ratio "
            f"{ours.p50_us / peer.p50_us:.2f}",
            f"fast path counters of the view: {counters}",
        ),
    )


@register(
    "sessions.validate_vs_django_cache",
    title="Validate a token vs loading a Django session from Redis",
    ours="`validate(token)` on a healthy session view",
    peer="`django.contrib.sessions.backends.cache.SessionStore(key).load()` on the Redis cache",
    goal=Goal(1.0),
)
def validate_vs_django_cache(ctx):
    from django.conf import settings
    from django.contrib.sessions.backends.cache import SessionStore

    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        raise RuntimeError("the peer needs the Redis cache (REDIS_URL)")
    token = _validation_setup(ctx)
    store = SessionStore()
    store["_auth_user_id"] = "1"
    store.create()
    key = store.session_key
    try:
        ours, peer = compare(
            lambda: validate(token),
            lambda: SessionStore(session_key=key).load(),
            ctx.iters(20_000, 3000),
            warmup=ctx.iters(1000, 200),
        )
    finally:
        stop_listener()
    return Outcome(ours, peer)


# --- propagation --------------------------------------------------------------------------


@register(
    "sessions.propagation",
    title="Revocation propagation to a second process",
    ours="revoke in this process → refused by a validating second process (Redis pub/sub)",
    peer="— (goal from the issue: p95 ≤ 1 s)",
    goal=Goal(1000.0, "p95 ms"),
)
def propagation(ctx):
    data = ctx.once(load_sessions)
    count = ctx.iters(200, 40)
    sessions = [
        do_create_session(tenant_id=data.tenant.pk, user_id=data.user_ids[n]) for n in range(count)
    ]
    peer = subprocess.Popen(
        [sys.executable, "-m", "bench.session_peer"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    delays_ns = []
    try:
        peer.stdin.write(json.dumps({"tokens": [t for _s, t in sessions]}) + "\n")
        peer.stdin.flush()
        if peer.stdout.readline().strip() != "ready":
            raise RuntimeError("peer process failed to start")
        with tenant_context(data.tenant):
            for session, _token in sessions:
                started = time.time()
                do_revoke_session(session.pk, "bench")
                sid, reason, at = peer.stdout.readline().split()
                if sid != session.pk or reason != "revoked":
                    raise RuntimeError(f"unexpected peer report {sid} {reason}")
                delays_ns.append(int((float(at) - started) * 1e9))
        peer.wait(timeout=30)
    finally:
        if peer.poll() is None:
            peer.kill()
    stats = Stats.from_ns([max(d, 1) for d in delays_ns])
    return Outcome(
        stats,
        None,
        value=stats.p95_us / 1000,
        peer_text="—",
        notes=(
            f"{count} revocations, one at a time; delay = wall clock from before the "
            "revoking transaction to the peer's refusal (the peer re-validates every "
            "live token in a loop); resync disabled in the peer so only pub/sub counts",
        ),
    )


# --- HTTP ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _timed_requests(port: int, path: str, headers: dict, n: int) -> list[int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        samples.append(time.perf_counter_ns() - start)
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
    conn.close()
    return samples


CLIENTS = 4


def _rate_under_load(port: int, path: str, headers: dict, per_client: int) -> float:
    import threading

    errors = []

    def client():
        try:
            _timed_requests(port, path, headers, per_client)
        except Exception as exc:  # reported below: a failed client must fail the row
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return CLIENTS * per_client / (time.perf_counter() - started)


@register(
    "sessions.http_validate",
    title="Validate through HTTP, load from a second process",
    ours="`GET /api/v1/sessions/{id}/validate/` with `Authorization: Bearer` (token auth, "
    "tenant from the token, membership check)",
    peer="`GET /api/bench/noop/`: a DRF view that does nothing, same server",
    goal=Goal(2.0),
)
def http_validate(ctx):
    data = ctx.once(load_sessions)
    session, token = do_create_session(tenant_id=data.tenant.pk, user_id=data.user.pk)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.http_server", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if server.stdout.readline().strip() != "listening":
            raise RuntimeError("HTTP server failed to start")
        ours_path = f"/api/v1/sessions/{session.pk}/validate/"
        headers = {"Authorization": f"Bearer {token}", "User-Agent": ""}
        n = ctx.iters(4000, 500)
        _timed_requests(port, ours_path, headers, 200)
        _timed_requests(port, "/api/bench/noop/", {}, 200)
        ours_ns, peer_ns = [], []
        for _round in range(4):
            ours_ns += _timed_requests(port, ours_path, headers, n // 4)
            peer_ns += _timed_requests(port, "/api/bench/noop/", {}, n // 4)
        # Then under concurrent load: CLIENTS keep-alive connections at once.
        ours_rate = _rate_under_load(port, ours_path, headers, n // CLIENTS)
        peer_rate = _rate_under_load(port, "/api/bench/noop/", {}, n // CLIENTS)
    finally:
        server.terminate()
        server.wait(timeout=10)
    ours, peer = Stats.from_ns(ours_ns), Stats.from_ns(peer_ns)
    return Outcome(
        ours,
        peer,
        notes=(
            "stdlib threaded WSGI server (HTTP/1.1 keep-alive) in its own process; latencies "
            "from one client connection of the bench process, requests back to back",
            f"one connection: ours {ours.ops_per_s:,.0f} req/s, p95 {ours.p95_us / 1000:.2f} ms; "
            f"noop {peer.ops_per_s:,.0f} req/s, p95 {peer.p95_us / 1000:.2f} ms",
            f"under load ({CLIENTS} concurrent connections, wall clock): ours "
            f"{ours_rate:,.0f} req/s, noop {peer_rate:,.0f} req/s",
        ),
    )


# --- memory -------------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
import django
django.setup()
from sessions_mgr.fastpath import LiveEntry, get_view
from sessions_mgr.models import new_session_id

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

view = get_view()
n = int(sys.argv[1])
ids = [new_session_id() for _ in range(n)]
before = rss()
now = time.time()
user = object()
for i, sid in enumerate(ids):
    view.live[sid] = LiveEntry(
        tenant_id=1 + i % 100, user_id=i, user=user, level="standard", session_type="user",
        ip=f"10.{i % 250}.{i // 250 % 250}.{i % 200}", user_agent="Mozilla/5.0 (X11; Linux)",
        idle_seconds=1800, binding="none", last_seen=now, last_written=now, first_request=now,
    )
print(rss() - before)
"""


@register(
    "sessions.memory",
    title="Resident memory of the session view per 100k active sessions",
    ours="RSS growth of a fresh process after loading 100k live entries into the view",
    peer="—",
    goal=Goal(100.0, "MB per 100k sessions"),
)
def memory(ctx):
    n = 100_000
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    megabytes = int(out.stdout.strip().splitlines()[-1]) / 1e6
    return Outcome(
        value=round(megabytes, 1),
        ours_text=f"{megabytes:.1f} MB",
        peer_text="—",
        notes=(
            "each entry: ids, user reference (shared), level, IP and user agent strings, "
            "timestamps and the behaviour counters; the session ids themselves are "
            "allocated before the first measurement",
        ),
    )


__all__ = ["measure"]
