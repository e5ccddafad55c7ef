"""security.flood (issue 10): a forged-token flood must not reach a legitimate user.

10,000 forged bearer tokens naming a tenant, from one address, interleaved with a member
of that tenant working from another address (bearer token, and a password sign-in every
20th request). The figure is the member's refusals (goal: 0); the member's p95 is
reported next to the same requests without the flood."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from django.contrib.auth import get_user_model

from bench.flood import ATTACKER_IP, USER_IP, basic_header, forged_tokens, legit_requests, run_flood
from bench.harness import Goal, Outcome, Stats, register
from sessions_mgr.actions import do_create_session
from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant

SLUG, USERNAME, PASSWORD = "bench-flood", "bench-flood-user", "bench-flood-password-1"
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _member():
    tenant, _ = Tenant.objects.get_or_create(slug=SLUG, defaults={"name": "Bench flood"})
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    # Memberships are written only with the tenant's proven claim (tenancy/rls_platform.py).
    with tenant_context(tenant):
        Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.OWNER})
    return tenant, user


@register(
    "security.flood",
    title="Legitimate user under a forged-token flood",
    ours="a member's `GET /api/v1/tenant/` (bearer token; Basic sign-in every 20th) from "
    f"{USER_IP} while 2 connections from {ATTACKER_IP} send 10,000 forged tokens naming "
    "the member's tenant",
    peer="the same member's requests with no flood (same server)",
    goal=Goal(0.0, "refusals of the legitimate user"),
)
def flood(ctx):
    tenant, user = _member()
    _session, token = do_create_session(tenant_id=tenant.pk, user_id=user.pk)
    sign_in = {"Authorization": basic_header(USERNAME, PASSWORD), "X-Tenant": SLUG}
    forged = forged_tokens(tenant.pk, ctx.iters(10_000, 2_000))
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
        quiet = ctx.iters(2_000, 300)
        legit_requests(port, 100, token=token, sign_in=sign_in)  # warm-up
        calm = legit_requests(port, quiet, token=token, sign_in=sign_in)
        result = run_flood(port, forged=forged, token=token, sign_in=sign_in, min_legit=quiet)
    finally:
        server.terminate()
        server.wait(timeout=10)
    if result.errors:
        raise RuntimeError("; ".join(result.errors[:3]))
    if calm.legit_refusals:
        raise RuntimeError(f"refused without any flood: {dict(calm.legit_statuses)}")
    ours, peer = Stats.from_ns(result.legit_ns), Stats.from_ns(calm.legit_ns)
    statuses = ", ".join(f"{n:,} × {s}" for s, n in sorted(result.forged_statuses.items()))
    return Outcome(
        ours,
        peer,
        value=float(result.legit_refusals),
        ours_text=f"{result.legit_refusals} refusals of {len(result.legit_ns):,} requests; "
        f"p95 {ours.p95_us / 1000:.2f} ms",
        peer_text=f"p95 {peer.p95_us / 1000:.2f} ms without the flood",
        notes=(
            f"forged tokens sent: {result.forged_sent:,} ({statuses}); the member's "
            f"answers: {dict(result.legit_statuses)}",
            "stdlib threaded WSGI server (bench.http_server) in its own process, Redis "
            "throttling counters; loopback addresses stand in for the two machines",
        ),
    )
