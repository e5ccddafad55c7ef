"""The reusable part of the bench: timing, rows and their registry.

A row measures *ours* against a named *peer* in the same process and the same run, so
that both see the same machine, the same database and the same cache temperature:

    from bench.harness import Goal, Outcome, compare, register

    @register("cache.get", title="...", ours="...", peer="...", goal=Goal(1.10))
    def cache_get(ctx):
        ours, peer = compare(lambda: ..., lambda: ..., ctx.iters(5000, 500), warmup=200)
        return Outcome(ours, peer)

Rows live in `bench/rows_*.py` modules, which `bench.run` imports in name order; a later
issue adds its rows by adding such a module, nothing else.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# --- Timing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Latency percentiles (µs) and throughput of one side of a row."""

    p50_us: float
    p95_us: float
    ops_per_s: float
    samples: int

    @classmethod
    def from_ns(cls, samples_ns: list[int]) -> Stats:
        if not samples_ns:
            raise ValueError("no samples")
        ordered = sorted(samples_ns)
        total_s = sum(ordered) / 1e9
        return cls(
            p50_us=_percentile(ordered, 50) / 1000,
            p95_us=_percentile(ordered, 95) / 1000,
            ops_per_s=len(ordered) / total_s if total_s else math.inf,
            samples=len(ordered),
        )


def _percentile(ordered: list[int], pct: float) -> float:
    # Nearest rank: always a latency that was really observed.
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _timed(fn: Callable[[], object], iterations: int) -> list[int]:
    clock = time.perf_counter_ns
    samples = [0] * iterations
    for i in range(iterations):
        start = clock()
        fn()
        samples[i] = clock() - start
    return samples


def measure(fn: Callable[[], object], iterations: int, warmup: int = 100) -> Stats:
    """Time `iterations` calls of `fn` one by one, after `warmup` untimed calls (which
    fill Django's caches, psycopg's prepared statements and PostgreSQL's buffers)."""
    for _ in range(warmup):
        fn()
    gc.collect()  # start from the same heap state; GC during the run is still counted
    return Stats.from_ns(_timed(fn, iterations))


def compare(
    ours: Callable[[], object],
    peer: Callable[[], object],
    iterations: int,
    warmup: int = 100,
    rounds: int = 10,
) -> tuple[Stats, Stats]:
    """Measure both sides interleaved: `rounds` alternating slices, each side going first
    every other round, so drift (CPU frequency, autovacuum, a noisy neighbour) lands on
    both sides alike instead of on whichever ran second."""
    for _ in range(warmup):
        ours()
        peer()
    rounds = max(1, min(rounds, iterations))
    per_round = [
        iterations // rounds + (1 if r < iterations % rounds else 0) for r in range(rounds)
    ]
    ours_ns: list[int] = []
    peer_ns: list[int] = []
    gc.collect()
    for r, n in enumerate(per_round):
        order = ((ours, ours_ns), (peer, peer_ns))
        for fn, sink in order if r % 2 == 0 else reversed(order):
            sink.extend(_timed(fn, n))
    return Stats.from_ns(ours_ns), Stats.from_ns(peer_ns)


# --- Rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """A row passes when its figure is at most `limit`. The figure is the p50 latency
    ratio ours/peer unless the row reports another one (then `metric` names it)."""

    limit: float
    metric: str = "p50 ratio"

    def met(self, value: float) -> bool:
        return value <= self.limit + 1e-9

    def __str__(self) -> str:
        limit = f"{self.limit:g}" if self.limit == int(self.limit) else f"{self.limit:.2f}"
        return f"≤ {limit} ({self.metric})"


@dataclass(frozen=True)
class Outcome:
    """What a row function returns. With `ours` and `peer` latencies, the figure is
    ours.p50 / peer.p50; a row measuring something else (counts) passes `value` and
    describes its sides in `ours_text` / `peer_text`."""

    ours: Stats | None = None
    peer: Stats | None = None
    value: float | None = None
    ours_text: str = ""
    peer_text: str = ""
    notes: tuple[str, ...] = ()

    @property
    def figure(self) -> float:
        if self.value is not None:
            return self.value
        if self.ours is None or self.peer is None:
            raise ValueError("an Outcome needs ours and peer latencies, or a value")
        return self.ours.p50_us / self.peer.p50_us


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    ours: str  # what "ours" runs, for the legend
    peer: str  # the named peer it is compared with
    goal: Goal
    func: Callable[[Context], Outcome]


@dataclass(frozen=True)
class Result:
    row: Row
    outcome: Outcome | None
    seconds: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is not None and self.row.goal.met(self.outcome.figure)


REGISTRY: dict[str, Row] = {}


def register(key: str, *, title: str, ours: str, peer: str, goal: Goal):
    """Decorator: add `func(ctx) -> Outcome` to the bench under a unique key."""

    def decorator(func: Callable[[Context], Outcome]):
        if key in REGISTRY:
            raise ValueError(f"bench row {key!r} is registered twice")
        REGISTRY[key] = Row(key, title, ours, peer, goal, func)
        return func

    return decorator


# --- Run context ------------------------------------------------------------------------


@dataclass
class Context:
    """Run options plus a memo for expensive set-up (data sets, users) that several rows
    share: `ctx.once(load_documents)` builds it on first use only."""

    quick: bool = False
    rows: int | None = None  # size of the large data set; None: the mode's default
    _memo: dict = field(default_factory=dict)

    def iters(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def once(self, builder: Callable[[Context], object]):
        if builder not in self._memo:
            self._memo[builder] = builder(self)
        return self._memo[builder]


def run_rows(rows: list[Row], ctx: Context, log: Callable[[str], None] = print) -> list[Result]:
    results = []
    for row in rows:
        log(f"# {row.key}: {row.title} ...")
        start = time.perf_counter()
        try:
            outcome = row.func(ctx)
        except Exception as exc:
            # One broken row must not hide the others; it is reported as an error.
            results.append(Result(row, None, time.perf_counter() - start, f"{exc!r}"))
            log(f"#   ERROR: {exc!r}")
            continue
        result = Result(row, outcome, time.perf_counter() - start)
        results.append(result)
        verdict = "PASS" if result.passed else "MISS"
        log(f"#   {outcome.figure:.3f} vs goal {row.goal}: {verdict} ({result.seconds:.1f}s)")
    return results
