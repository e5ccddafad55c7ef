"""Reads: per-tenant statistics by namespace (every process's, flushed to the shared
tier every CACHE_STATS_FLUSH_SECONDS, plus this process's unflushed counts), the
in-process tier's usage against the tenant's quota, and what prefetching learned."""

from __future__ import annotations

from cache_mgr import config, tiers
from tenancy.context import require_tenant_id


def tenant_stats() -> dict:
    tenant_id = require_tenant_id("cache statistics")
    st = tiers.state()
    namespaces: dict[str, dict[str, int]] = {}
    for field, n in st.shared.read_stats(tiers.stats_key(tenant_id)).items():
        namespace, _, name = field.partition("|")
        if name in tiers.INDEX:
            namespaces.setdefault(namespace, dict.fromkeys(tiers.COUNTERS, 0))[name] += n
    for (tid, namespace), row in list(st.counts.items()):
        if tid != tenant_id:
            continue
        target = namespaces.setdefault(namespace, dict.fromkeys(tiers.COUNTERS, 0))
        for name, n in zip(tiers.COUNTERS, row, strict=True):
            target[name] += n
    rows = []
    for namespace in sorted(namespaces):
        counts = namespaces[namespace]
        reads = counts["local_hits"] + counts["shared_hits"] + counts["misses"]
        hits = counts["local_hits"] + counts["shared_hits"]
        rows.append(
            {
                "namespace": namespace,
                **counts,
                "reads": reads,
                "hit_ratio": round(hits / reads, 4) if reads else None,
                "prefetch_gain": round(counts["prefetch_hits"] / reads, 4) if reads else None,
            }
        )
    entries, size = st.local.usage(tenant_id)
    return {
        "namespaces": rows,
        "local": {
            "entries": entries,
            "bytes": size,
            "quota_keys": config.tenant_quota(tenant_id, "keys"),
            "quota_bytes": config.tenant_quota(tenant_id, "bytes"),
            "evictions": st.local.evictions.get(tenant_id, 0),
        },
        "prefetch": {
            "enabled": config.get().prefetch,
            "learned": [
                {
                    "after": f"{row['after'][0]}:{row['after'][1]}",
                    "reads": f"{row['reads'][0]}:{row['reads'][1]}",
                    "count": row["count"],
                    "confidence": round(row["confidence"], 3),
                }
                for row in st.coaccess.explain(tenant_id)
            ],
        },
        "coherent": tiers.local_tier_usable(),
    }
