"""AI registry rows (issue 15): one-row and 10k-row anomaly scores of the compiled
IsolationForest against scikit-learn's `score_samples` (identical scores checked), a
prediction through the registry with the cached champion, and the training time of
the per-tenant detector on 30 days of 1-minute metrics."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.harness import Goal, Outcome, compare, measure, register
from tenancy.context import TenantRef, tenant_context
from tenancy.models import Tenant

FEATURES = ["cpu", "latency_ms", "rps", "errors", "queue"]
MINUTES_30_DAYS = 30 * 24 * 60


def _tenant() -> TenantRef:
    tenant, _ = Tenant.objects.get_or_create(slug="bench-ai", defaults={"name": "bench ai"})
    return TenantRef.of(tenant)


def _metrics(n: int, seed: int = 0) -> np.ndarray:
    """`n` minutes of five metrics with a daily cycle and noise."""
    rng = np.random.default_rng(seed)
    minute = np.arange(n)
    day = np.sin(2 * np.pi * minute / 1440)
    return np.column_stack(
        [
            0.4 + 0.2 * day + rng.normal(0, 0.03, n),
            20 + 8 * day + rng.normal(0, 2, n),
            100 + 60 * day + rng.normal(0, 8, n),
            rng.poisson(0.5, n),
            np.abs(rng.normal(3, 1, n)),
        ]
    )


def _rows(x: np.ndarray) -> list[dict]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "timestamp": (start + timedelta(minutes=i)).isoformat(),
            **dict(zip(FEATURES, r, strict=True)),
        }
        for i, r in enumerate(x.tolist())
    ]


def _forest(ctx):
    from sklearn.ensemble import IsolationForest

    from ai_mgr.compiled import compile_isolation_forest

    x = _metrics(ctx.iters(MINUTES_30_DAYS, 5000))
    estimator = IsolationForest(n_estimators=100, random_state=0).fit(x)
    return x, estimator, compile_isolation_forest(estimator)


def _identical(compiled, estimator, rows) -> float:
    diff = float(np.max(np.abs(compiled.score_samples(rows) - estimator.score_samples(rows))))
    if diff > 1e-12:
        raise RuntimeError(f"compiled scores differ from scikit-learn's by {diff}")
    return diff


@register(
    "ai.score_one",
    title="Anomaly score of one row (IsolationForest, 100 trees, 5 features)",
    ours="`CompiledForest.score_one(row)`: every tree walked at once over flat numpy arrays",
    peer="scikit-learn `IsolationForest.score_samples([row])`",
    goal=Goal(100.0, "ours p95 µs (scores identical to 1e-12)"),
)
def score_one(ctx):
    x, estimator, compiled = ctx.once(_forest)
    queries = _metrics(1000, seed=7) * np.array([1, 1, 1, 3, 1])
    diff = _identical(compiled, estimator, queries)
    rows = [queries[k] for k in range(1000)]
    singles = [queries[k : k + 1] for k in range(1000)]
    a, b = iter(range(10**9)), iter(range(10**9))
    ours, peer = compare(
        lambda: compiled.score_one(rows[next(a) % 1000]),
        lambda: estimator.score_samples(singles[next(b) % 1000]),
        ctx.iters(2000, 300),
        warmup=50,
    )
    return Outcome(
        ours, peer, value=ours.p95_us,
        notes=(f"max |ours - sklearn| over 1,000 rows: {diff:.1e}",),
    )  # fmt: skip


@register(
    "ai.score_batch_10k",
    title="Anomaly scores of a batch of 10,000 rows",
    ours="`CompiledForest.score_samples(rows)`: a (rows x trees) matrix of nodes, level by level",
    peer="scikit-learn `IsolationForest.score_samples(rows)`",
    goal=Goal(1.0, "p50 ratio"),
)
def score_batch(ctx):
    x, estimator, compiled = ctx.once(_forest)
    batch = _metrics(10_000, seed=11)
    diff = _identical(compiled, estimator, batch)
    ours, peer = compare(
        lambda: compiled.score_samples(batch), lambda: estimator.score_samples(batch),
        ctx.iters(20, 4), warmup=1, rounds=4,
    )  # fmt: skip
    return Outcome(ours, peer, notes=(f"max |ours - sklearn|: {diff:.1e}",))


def _registry_model(ctx):
    from ai_mgr import training

    ref = _tenant()
    with tenant_context(ref):
        x = _metrics(ctx.iters(20_000, 3000), seed=3)
        result = training.train_now(
            model_type="anomaly_detector", model_name="bench-detector",
            training_data={"features": FEATURES, "rows": x.tolist()}, promote="champion",
        )  # fmt: skip
    return ref, result


@register(
    "ai.predict",
    title="predict() through the registry (cached champion, one row)",
    ours="`ai_mgr.inference.predict(model_name=..., input_data={...})`: cache hit, feature "
    "check against the version, compiled score",
    peer="scikit-learn `IsolationForest.score_samples([row])` on an estimator in hand",
    goal=Goal(1000.0, "ours p95 µs (≤ 1 ms; and ≥ 5,000/s, notes)"),
)
def predict_row(ctx):
    from ai_mgr import inference

    ref, _ = ctx.once(_registry_model)
    x, estimator, _compiled = ctx.once(_forest)
    row = dict(zip(FEATURES, _metrics(1, seed=5)[0].tolist(), strict=True))
    one = np.array([[row[f] for f in FEATURES]])
    with tenant_context(ref):
        inference.predict("bench-detector", row)
        ours, peer = compare(
            lambda: inference.predict("bench-detector", row),
            lambda: estimator.score_samples(one),
            ctx.iters(3000, 300),
            warmup=100,
        )
    rate = "meets" if ours.ops_per_s >= 5000 else "is under"
    note = f"{ours.ops_per_s:,.0f} predictions/s on one thread ({rate} the seed's 5,000/s)"
    return Outcome(ours, peer, value=ours.p95_us, notes=(note,))


@register(
    "ai.train_30d",
    title="Train the per-tenant detector on 30 days of 1-minute metrics (43,200 rows x 5)",
    ours="`training.train_now()`: validation, holdout split, fit, compile, drift reference, "
    "signed artifact, version and champion alias with audit entries",
    peer="scikit-learn `IsolationForest(n_estimators=100).fit(rows)` alone",
    goal=Goal(60.0, "ours seconds"),
)
def train_row(ctx):
    from sklearn.ensemble import IsolationForest

    from ai_mgr import training

    x = _metrics(ctx.iters(MINUTES_30_DAYS, 5000), seed=2)
    rows = _rows(x)
    with tenant_context(_tenant()):
        started = time.perf_counter()
        result = training.train_now(
            model_type="anomaly_detector", model_name="bench-train", training_data=rows
        )
        ours = time.perf_counter() - started
    peer = measure(lambda: IsolationForest(n_estimators=100, random_state=0).fit(x), 1, warmup=0)
    return Outcome(
        value=ours,
        ours_text=f"{ours:.2f} s ({len(rows):,} rows, version {result['version']})",
        peer_text=f"{peer.p50_us / 1e6:.2f} s (fit only)",
        notes=(f"holdout: {result['metrics']}",),
    )
