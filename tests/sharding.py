"""Split one `make test` run into shards that run side by side (CI's PostgreSQL pass on a
two-core machine): DIM_TEST_SHARD=k/n keeps the k-th of n parts of the collected tests.

Every shard collects the same tests, so each computes the same split without talking to
the others: whole modules (module-scoped fixtures stay shared) are dealt greedily, the
heaviest first, to the lightest shard. A module's weight is its estimated seconds: per
test, a test of the dedicated world (a database cloned for it) counting as several, or
the measured time of the few modules far from that (MODULE_SECONDS). Modules that
change what the whole PostgreSQL server reports to `check_isolation` (a role granted to
the runtime role for a moment) run in the first shard with every module that reads that
report, so the two never overlap.

Each shard needs services of its own: a database, a Redis database (pub/sub channels
carry its number, settings.REDIS_CHANNEL_NAMESPACE) and a var/ directory; .ci/run gives
them. pytest-xdist would deal tests dynamically, but its workers would need the same
per-worker services, which this project's fixtures take from the environment."""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

# Modules that read or change the server-wide role report (tenancy.rls_inspect).
PINNED_TO_FIRST = (
    "tests/isolation/test_postgres_rls.py",
    "tests/isolation/test_attack_identity.py",
    "tests/isolation/test_attack_perf_ingest.py",
    "tenancy/tests/test_schedules.py",
    "tenancy/tests/test_commands.py",
    "audit_mgr/tests/test_append_only_db.py",
    "connection_mgr/tests/test_dedicated.py",
)
# Weights are seconds on the two-core CI machine with the three runs side by side
# (measured with --durations, 2026-12-03): about 1 s per test, 3 s per test of the
# dedicated world (a cloned database, copied rows and a dropped database each), and the
# whole module for the few that are far from that (a browser crawl, schemathesis, real
# worker processes and servers started per test).
SECONDS_PER_TEST = 1
DEDICATED_WEIGHT = 3
MODULE_SECONDS = {
    "tests/browser/test_crawl.py": 550,
    "tests/test_api_schemathesis.py": 410,
    "tests/isolation/test_attack_connections.py": 270,
    "tests/isolation/test_attack_workflows.py": 150,
    "tests/isolation/test_postgres_rls.py": 150,
    "connection_mgr/tests/test_dedicated.py": 100,
    "metadata_mgr/tests/compat/test_properties.py": 80,
    "workflow_mgr/tests/test_worker_faults.py": 75,
    "audit_mgr/tests/test_security_events_migration.py": 70,
    "tests/test_redis_cluster.py": 50,
}


def parse_shard(text: str) -> tuple[int, int]:
    """'k/n' -> (k, n) with 1 <= k <= n; ValueError naming the expected form otherwise."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"DIM_TEST_SHARD={text!r}: expected k/n, e.g. 1/2") from None
    if not 1 <= k <= n:
        raise ValueError(f"DIM_TEST_SHARD={text!r}: k must be between 1 and n")
    return k, n


def _weight(item) -> int:
    return DEDICATED_WEIGHT if "[dedicated-" in item.nodeid else SECONDS_PER_TEST


def assign(items, n: int, root) -> dict[str, int]:
    """module path (relative, '/'-separated) -> shard index (0-based)."""
    weights: dict[str, int] = defaultdict(int)
    for item in items:
        weights[_module(item, root)] += _weight(item)
    for module, seconds in MODULE_SECONDS.items():
        if module in weights:  # collected (not deselected by -k or a path)
            weights[module] = max(weights[module], seconds)
    load = [0] * n
    shard_of: dict[str, int] = {}
    for module in PINNED_TO_FIRST:
        if module in weights:
            shard_of[module] = 0
            load[0] += weights[module]
    for module in sorted(weights, key=lambda m: (-weights[m], m)):
        if module in shard_of:
            continue
        lightest = min(range(n), key=lambda i: (load[i], i))
        shard_of[module] = lightest
        load[lightest] += weights[module]
    return shard_of


def _module(item, root) -> str:
    return os.path.relpath(str(item.path), str(root)).replace(os.sep, "/")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    text = os.environ.get("DIM_TEST_SHARD", "")
    if not text:
        return
    k, n = parse_shard(text)
    shard_of = assign(items, n, config.rootpath)
    kept, dropped = [], []
    for item in items:
        (kept if shard_of[_module(item, config.rootpath)] == k - 1 else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def pytest_report_header(config):
    text = os.environ.get("DIM_TEST_SHARD", "")
    return [f"shard {text} (DIM_TEST_SHARD)"] if text else []
