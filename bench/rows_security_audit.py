"""Audit log rows: sustained appends from concurrent producers, and proofs from the
database at 1 M entries (generation through the DB, and client-side verification)."""

from __future__ import annotations

import random
import time

import audit_mgr as audit
from audit_mgr import merkle
from audit_mgr.models import AuditEntry, PendingAuditEntry
from bench.audit_data import load_audit_log
from bench.audit_load import (
    Sequencer,
    append_statement,
    ensure_plain_audit_table,
    run_pgbench,
    run_python_producers,
)
from bench.datasets import load_tenants
from bench.harness import Goal, Outcome, Stats, measure, register
from tenancy.context import TenantRef, tenant_context


def _tenant(ctx, index: int) -> TenantRef:
    tenants = ctx.once(load_tenants)
    return TenantRef(tenants.ids[index], tenants.slugs[index])


def _ms(stats: Stats) -> str:
    return f"p50 {stats.p50_us / 1000:.2f} ms, p95 {stats.p95_us / 1000:.2f} ms"


@register(
    "security.audit_append",
    title="Audit log append, sustained: one entry per durable transaction (PostgreSQL)",
    ours="8 pgbench connections of the runtime role (RLS on), each looping BEGIN, the INSERT "
    "that `audit.append()` sends, COMMIT; meanwhile the sequencer (`audit.sequence_pending`, "
    "what the worker runs in the default deferred mode) numbers the queue every 0.25 s; "
    "entries/s from the first append to the last entry numbered, Merkle nodes and head "
    "included",
    peer="the same pgbench load inserting the same row into a plain append-only table (no "
    "RLS, no sequencing, no proofs: what django-auditlog keeps)",
    goal=Goal(200.0, "µs per entry sustained (≤ 200 ⇔ ≥ 5,000/s)"),
)
def audit_append(ctx):
    ref = _tenant(ctx, 1)
    seconds = ctx.iters(10, 4)
    ensure_plain_audit_table()
    with tenant_context(ref):
        audit.append("bench.warm", {})  # the head row exists
        audit.sequence_pending(audit.tenant_log())  # nothing left pending
        size_before = AuditEntry.objects.count()
    sequencer = Sequencer(ref).start()
    began = time.perf_counter()
    load = run_pgbench(ref, append_statement(ref), seconds)
    produced_s = time.perf_counter() - began
    sequencer.finish()
    total = load["transactions"]
    wall = sequencer.last_at - began
    peer = run_pgbench(ref, append_statement(ref, plain=True), seconds)

    python = ctx.iters(4, 2)
    py_sequencer = Sequencer(ref).start()
    py_began = time.perf_counter()
    py_total = run_python_producers(ref, python, seconds, "ours")
    py_sequencer.finish()
    py_wall = py_sequencer.last_at - py_began
    py_plain = run_python_producers(ref, python, seconds, "plain")

    with tenant_context(ref):
        left = PendingAuditEntry.objects.count()
        size = AuditEntry.objects.count()
        checked = time.perf_counter()
        report = audit.verify_log(audit.tenant_log())
        verify_s = time.perf_counter() - checked
    expected = size_before + total + py_total
    if left or size != expected or not report.ok:
        raise AssertionError(
            f"{left} left pending, {size:,} entries for {expected:,} appended; "
            f"verification: {report.problems}"
        )
    rate = total / wall
    per_entry_cpu = sequencer.cpu_s / max(sequencer.sequenced, 1) * 1e6
    return Outcome(
        value=1e6 / rate,
        ours_text=f"{rate:,.0f} entries/s sustained ({total:,} entries in {wall:.1f} s, "
        f"each its own transaction; pgbench latency avg {load['latency_ms']:.2f} ms)",
        peer_text=f"{peer['transactions'] / seconds:,.0f} rows/s "
        f"(pgbench latency avg {peer['latency_ms']:.2f} ms)",
        notes=(
            f"appending ran {produced_s:.1f} s; the last entry was numbered "
            f"{wall - produced_s:.2f} s after the last commit; the sequencer took up to "
            f"{max(sequencer.batches, default=0):,} entries per drain, "
            f"{per_entry_cpu:.0f} µs of its CPU per entry",
            f"Python producers, {python} processes of `with transaction.atomic(): "
            f"audit.append(...)` (deferred mode): {py_total / py_wall:,.0f} entries/s "
            f"sustained; the same processes inserting into the plain table: "
            f"{py_plain / seconds:,.0f} rows/s. On this 2-core machine the producers' own "
            "Python (~300 µs of CPU per transaction: Django's atomic block, the INSERT, "
            "psycopg) shares the cores with PostgreSQL and the sequencer; in a deployment "
            "it runs on the application servers, hence the pgbench load above",
            f"log size after the row: {size:,}; verify_audit recomputed it in "
            f"{verify_s:.1f} s ({report.nodes_checked:,} nodes): OK; nothing left pending",
            "commits are durable (synchronous_commit on): no skipped fsyncs",
        ),
    )


# --- proofs at 1 M entries ---------------------------------------------------------------


def _cases(data, count: int, seed: int) -> list[int]:
    return random.Random(seed).sample(range(data.size), min(count, data.size))


@register(
    "security.inclusion_verify_1m",
    title="Inclusion-proof verification at 1 M entries (proofs from the database)",
    ours="`merkle.verify_inclusion` (RFC 9162 §2.1.3.2) of proofs built by "
    "`prove_inclusion` from the stored log, against the signed tree head's root",
    peer="recomputing the leaf hash alone (SHA-256 of one entry)",
    goal=Goal(1.0, "p95 ms"),
)
def inclusion_verify(ctx):
    data = ctx.once(load_audit_log)
    with tenant_context(data.tenant):
        log = audit.tenant_log()
        proofs = [
            (i, audit.prove_inclusion(log, i, data.size))
            for i in _cases(data, ctx.iters(2000, 500), 7)
        ]
    cases = [
        (i, bytes.fromhex(p["leaf_hash"]), [bytes.fromhex(h) for h in p["proof"]])
        for i, p in proofs
    ]
    it = iter(cases * 20)
    root, n = data.signed_root, data.size

    def ours():
        i, leaf, proof = next(it)
        if not merkle.verify_inclusion(leaf, i, n, proof, root):
            raise AssertionError("proof did not verify against the signed head")

    o = measure(ours, ctx.iters(10000, 2000), warmup=100)
    p = measure(lambda: merkle.leaf_hash(b"entry"), ctx.iters(10000, 2000), warmup=100)
    indexes = iter(_cases(data, 2000, 23) * 5)

    def end_to_end():
        i = next(indexes)
        proof = audit.prove_inclusion(log, i, n)
        path = [bytes.fromhex(h) for h in proof["proof"]]
        if not merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), i, n, path, root):
            raise AssertionError("proof did not verify against the signed head")

    with tenant_context(data.tenant):
        both = measure(end_to_end, ctx.iters(2000, 500), warmup=50)
    return Outcome(
        o,
        p,
        value=o.p95_us / 1000,
        ours_text=f"p50 {o.p50_us:.1f} µs, p95 {o.p95_us:.1f} µs "
        f"({len(cases[0][2])} hashes per proof)",
        peer_text=f"p50 {p.p50_us:.2f} µs",
        notes=(
            data.describe(),
            f"end to end, `prove_inclusion` from the database + client verification: {_ms(both)}",
        ),
    )


@register(
    "security.inclusion_prove_1m",
    title="Inclusion proof generated from the database at 1 M entries",
    ours="`audit.prove_inclusion(log, random index, tree_size)`: O(log n) stored subtrees "
    "in 2 queries (nodes, leaves + root), assembled and self-checked",
    peer="reading one entry by seq through the same scoped ORM",
    goal=Goal(5.0, "p95 ms"),
)
def inclusion_prove(ctx):
    data = ctx.once(load_audit_log)
    indexes = iter(_cases(data, 2000, 11) * 20)
    seqs = iter(_cases(data, 2000, 13) * 20)
    with tenant_context(data.tenant):
        log = audit.tenant_log()
        o = measure(
            lambda: audit.prove_inclusion(log, next(indexes), data.size),
            ctx.iters(5000, 1000),
            warmup=100,
        )
        p = measure(
            lambda: AuditEntry.objects.filter(seq=next(seqs)).values_list("leaf_hash").get(),
            ctx.iters(5000, 1000),
            warmup=100,
        )
    return Outcome(
        o,
        p,
        value=o.p95_us / 1000,
        ours_text=_ms(o),
        peer_text=_ms(p),
        notes=(data.describe(),),
    )


@register(
    "security.consistency_prove_1m",
    title="Consistency proof from the database at 1 M entries, verified",
    ours="`audit.prove_consistency(log, random first, tree_size)` from the stored subtrees "
    "+ `merkle.verify_consistency` against the signed root",
    peer="`audit.prove_inclusion` of a random leaf (same store)",
    goal=Goal(5.0, "p95 ms"),
)
def consistency_prove(ctx):
    data = ctx.once(load_audit_log)
    firsts = iter([max(1, i) for i in _cases(data, 2000, 17)] * 20)
    indexes = iter(_cases(data, 2000, 19) * 20)
    n, root = data.size, data.signed_root
    with tenant_context(data.tenant):
        log = audit.tenant_log()

        def ours():
            first = next(firsts)
            proof = audit.prove_consistency(log, first, n)
            if not merkle.verify_consistency(
                first,
                n,
                bytes.fromhex(proof["first_root"]),
                root,
                [bytes.fromhex(h) for h in proof["proof"]],
            ):
                raise AssertionError("consistency proof did not verify")

        o = measure(ours, ctx.iters(3000, 600), warmup=50)
        p = measure(
            lambda: audit.prove_inclusion(log, next(indexes), n), ctx.iters(3000, 600), warmup=50
        )
    return Outcome(
        o, p, value=o.p95_us / 1000, ours_text=_ms(o), peer_text=_ms(p), notes=(data.describe(),)
    )
