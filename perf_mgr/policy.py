"""Per-tier limits of a tenant's metrics: how many series it may hold and how long each
kind of data is kept (settings `PERFORMANCE_SERIES_LIMITS`, `PERFORMANCE_RETENTION`).
A tenant's tier is read once a minute per process: changing it takes effect within that."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from tenancy import resettable

_TIER_TTL_S = 60.0
_tiers: dict[int, tuple[float, str]] = {}
resettable.register(_tiers.clear, name="perf_mgr.policy._tiers")

DEFAULT_TIER = "free"


@dataclass(frozen=True)
class Retention:
    raw_days: float
    minute_days: float
    hour_days: float


def tier_of(tenant_id: int) -> str:
    cached = _tiers.get(tenant_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    from tenancy.models import Tenant

    tier = Tenant.objects.filter(pk=tenant_id).values_list("tier", flat=True).first()
    tier = tier or DEFAULT_TIER
    _tiers[tenant_id] = (now + _TIER_TTL_S, tier)
    return tier


def _for_tier(mapping: dict, tier: str):
    return mapping.get(tier, mapping.get(DEFAULT_TIER))


def series_limit(tenant_id: int) -> int:
    return int(_for_tier(settings.PERFORMANCE_SERIES_LIMITS, tier_of(tenant_id)))


def retention(tenant_id: int) -> Retention:
    days = _for_tier(settings.PERFORMANCE_RETENTION, tier_of(tenant_id))
    return Retention(float(days["raw"]), float(days["minute"]), float(days["hour"]))
