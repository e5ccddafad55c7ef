"""Series identity and the per-tenant cardinality guard.

`resolve(keys)` maps (name, canonical labels, category) to series ids in the tenant in
context, creating the missing ones while the tenant stays under its tier's limit
(perf_mgr/policy.py); the rest are refused, counted in the tenant's `SeriesGuard` and
in Prometheus. Callers hold the tenant's ingest lock (perf_mgr/store.py), so the count
and the inserts of one tenant do not race.

Known series are remembered per process (tenant id, name, labels) -> id, up to
`CACHE_MAX` entries (then the memo starts over): the flusher resolves each batch's
series without a query once they are known.
"""

from __future__ import annotations

import hashlib
import json

from django.db.models import F
from django.utils import timezone

from perf_mgr import policy
from perf_mgr.models import MetricSeries, SeriesGuard
from perf_mgr.validation import Labels
from tenancy import resettable
from tenancy.context import require_tenant_id

CACHE_MAX = 200_000
_known: dict[tuple, int] = {}
resettable.register(_known.clear, name="perf_mgr.series._known")

Key = tuple[str, Labels]  # name, canonical labels (the category is the first writer's)


def digest(name: str, labels: Labels) -> str:
    text = json.dumps([name, labels], separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def forget(tenant_id: int | None = None) -> None:
    if tenant_id is None:
        _known.clear()
        return
    for key in [k for k in _known if k[0] == tenant_id]:
        del _known[key]


def resolve(wanted: dict[Key, str]) -> tuple[dict[Key, int], list[Key]]:
    """`wanted` maps (name, labels) to the category a new series gets. Returns the ids
    of the known or created series and the keys refused by the cardinality limit."""
    tenant_id = require_tenant_id("resolving metric series")
    found: dict[Key, int] = {}
    missing: dict[str, Key] = {}
    for key in wanted:
        known = _known.get((tenant_id, key[0], key[1]))
        if known is not None:
            found[key] = known
        else:
            missing[digest(key[0], key[1])] = key
    if not missing:
        return found, []
    stored = dict(MetricSeries.objects.filter(digest__in=list(missing)).values_list("digest", "id"))
    new = [d for d in missing if d not in stored]
    refused: list[Key] = []
    if new:
        room = max(0, policy.series_limit(tenant_id) - MetricSeries.objects.count())
        create, refused_digests = new[:room], new[room:]
        if create:
            MetricSeries.objects.bulk_create(
                [
                    MetricSeries(
                        name=missing[d][0],
                        labels=dict(missing[d][1]),
                        category=wanted[missing[d]],
                        digest=d,
                    )
                    for d in create
                ],
                ignore_conflicts=True,
            )
            stored.update(
                MetricSeries.objects.filter(digest__in=create).values_list("digest", "id")
            )
        refused = [missing[d] for d in refused_digests]
        if refused:
            _count_refused(refused)
    if len(_known) + len(stored) > CACHE_MAX:
        _known.clear()
    for d, series_id in stored.items():
        key = missing[d]
        found[key] = series_id
        _known[(tenant_id, key[0], key[1])] = series_id
    return found, refused


def _count_refused(refused: list[Key]) -> None:
    from perf_mgr import prometheus

    now = timezone.now()
    name = refused[-1][0]
    updated = SeriesGuard.objects.filter().update(
        refused_total=F("refused_total") + len(refused),
        last_refused_name=name,
        last_refused_at=now,
    )
    if not updated:
        SeriesGuard.objects.create(
            refused_total=len(refused), last_refused_name=name, last_refused_at=now
        )
    prometheus.series_refused(len(refused))
