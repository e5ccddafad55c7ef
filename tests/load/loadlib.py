"""The load tests' client (issue 18): an asyncio + httpx driver against a running server
(`make serve`, `make run`, or the cluster of `make cluster-test`). Not part of pytest.

Each virtual user runs `operation(client, state)` in a loop until the duration or the
request budget is spent; every call is timed. The report gives throughput, p50/p95/p99
per operation and the errors by status, and the exit status says whether the error rate
stayed under --max-error-rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

import httpx


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--url", default=os.environ.get("LOAD_URL", "http://127.0.0.1:8000"))
    p.add_argument("--tenant", default=os.environ.get("LOAD_TENANT", "acme"))
    p.add_argument("--user", default=os.environ.get("LOAD_USER", "acme-owner"))
    p.add_argument(
        "--password", default=os.environ.get("LOAD_PASSWORD", "demo-password-123"),
        help="the user's password (make run's demo data by default)",
    )  # fmt: skip
    p.add_argument("--concurrent", type=int, default=50, help="virtual users")
    p.add_argument("--duration", type=float, default=30.0, help="seconds, at most")
    p.add_argument("--requests", type=int, default=0, help="stop after this many (0: none)")
    p.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    p.add_argument("--max-error-rate", type=float, default=0.01)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


class Stats:
    def __init__(self):
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.count = 0

    def record(self, name: str, seconds: float, ok: bool, status: str) -> None:
        self.count += 1
        self.latencies[name].append(seconds)
        if not ok:
            self.errors[f"{name} {status}"] += 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def timed(stats: Stats, name: str, call: Awaitable[httpx.Response], expect=(200, 201)):
    start = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as exc:
        stats.record(name, time.perf_counter() - start, False, type(exc).__name__)
        return None
    ok = response.status_code in expect
    stats.record(name, time.perf_counter() - start, ok, str(response.status_code))
    return response if ok else None


async def login(client: httpx.AsyncClient, args) -> str:
    """One session token (Basic auth once; the virtual users then use Bearer tokens)."""
    response = await client.post(
        "/api/v1/sessions/",
        json={"tenant_id": args.tenant},
        auth=(args.user, args.password),
        headers={"X-Tenant": args.tenant},
    )
    if response.status_code != 201:
        raise SystemExit(f"login as {args.user} failed: {response.status_code} {response.text}")
    return response.json()["token"]


Operation = Callable[[httpx.AsyncClient, dict, Stats], Awaitable[None]]


async def run(args, setup: Callable, operation: Operation) -> dict:
    limits = httpx.Limits(
        max_connections=args.concurrent, max_keepalive_connections=args.concurrent
    )
    timeout = httpx.Timeout(args.timeout)
    stats = Stats()
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=timeout) as client:
        token = await login(client, args)
        client.headers.update({"Authorization": f"Bearer {token}", "X-Tenant": args.tenant})
        deadline = time.monotonic() + args.duration

        def more() -> bool:
            budget = not args.requests or stats.count < args.requests
            return budget and time.monotonic() < deadline

        async def user(index: int):
            state = await setup(client, stats, index)
            while state is not None and more():
                await operation(client, state, stats)

        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(args.concurrent)))
        elapsed = time.perf_counter() - started
    return report(stats, elapsed, args)


def report(stats: Stats, elapsed: float, args) -> dict:
    operations = {}
    for name, values in sorted(stats.latencies.items()):
        operations[name] = {
            "count": len(values),
            "per_second": round(len(values) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(_percentile(values, 50) * 1000, 2),
            "p95_ms": round(_percentile(values, 95) * 1000, 2),
            "p99_ms": round(_percentile(values, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
        }
    errors = sum(stats.errors.values())
    return {
        "url": args.url,
        "concurrent": args.concurrent,
        "seconds": round(elapsed, 2),
        "requests": stats.count,
        "throughput_per_second": round(stats.count / elapsed, 1) if elapsed else 0.0,
        "errors": errors,
        "error_rate": round(errors / stats.count, 4) if stats.count else 0.0,
        "errors_by_kind": dict(stats.errors),
        "operations": operations,
    }


def print_report(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['requests']} requests in {result['seconds']} s from {result['concurrent']} "
        f"virtual users: {result['throughput_per_second']}/s, errors {result['errors']} "
        f"({result['error_rate']:.2%})"
    )
    print(f"{'operation':<22}{'count':>8}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, o in result["operations"].items():
        print(
            f"{name:<22}{o['count']:>8}{o['per_second']:>9}{o['p50_ms']:>9}"
            f"{o['p95_ms']:>9}{o['p99_ms']:>9}"
        )
    for kind, n in result["errors_by_kind"].items():
        print(f"  error: {kind} x{n}")


def main(description: str, setup: Callable, operation: Operation, argv=None, **defaults) -> int:
    p = parser(description)
    p.set_defaults(**defaults)
    args = p.parse_args(argv)
    result = asyncio.run(run(args, setup, operation))
    print_report(result, args.json)
    return 0 if result["requests"] and result["error_rate"] <= args.max_error_rate else 1


if __name__ == "__main__":
    sys.exit("run session_manager_load_test.py or metadata_manager_stress_test.py")
