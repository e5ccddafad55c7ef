"""The tier policies' quotas: the provider of `tenancy.hooks.check_quota` and the usage
the console and the API show.

Hot path: the API rate is asked on every request. A tenant's limits are remembered in
the process for `MEMO_SECONDS` (and forgotten at once when a tier or a tenant's
lifecycle row is saved in this process; other processes see the change within the
memo's life). Rates count in the shared cache (Redis in production: INCR is atomic
across workers), one key per tenant and window; a refused request or batch takes its
count back, so a tenant hammering past its limit does not push its own window further.
A tenant not enrolled in the lifecycle has no limits.

`LIFECYCLE_QUOTAS_ENFORCED` switches enforcement off (the test settings do, so that
tests of other features never meet a tier's limit by accident)."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_save

from lifecycle_mgr.models import QUOTAS, TenantLifecycle, TierPolicy
from tenancy import hooks, resettable
from tenancy.context import tenant_context
from tenancy.models import Membership
from tenancy.quotas import RATES, QuotaExceeded

MEMO_SECONDS = 30.0
WINDOWS = {"api_requests_per_minute": 60, "metric_samples_per_day": 86_400}

_memo: dict[int, tuple[float, tuple[str, dict] | None]] = {}
resettable.register(_memo.clear, name="lifecycle_mgr.quotas._memo")


def limits(tenant_id: int) -> tuple[str, dict] | None:
    """(tier name, {quota: limit or None}) of the tenant, or None when not enrolled."""
    now = time.monotonic()
    hit = _memo.get(tenant_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = TenantLifecycle.objects.select_related("policy").filter(tenant_id=tenant_id).first()
    found = None
    if row is not None:
        found = (row.policy.name, {q: row.policy.limit(q) for q in QUOTAS})
    _memo[tenant_id] = (now + MEMO_SECONDS, found)
    return found


def _forget(sender, instance, **kwargs) -> None:
    _memo.clear()


def _window(quota: str, now: float) -> tuple[str, int]:
    """The counter's window id and the seconds until it ends."""
    span = WINDOWS[quota]
    if span == 86_400:  # calendar days, UTC: "per day" as a person reads it
        day = dt.datetime.fromtimestamp(now, dt.UTC)
        midnight = dt.datetime.combine(day.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
        return day.strftime("%Y%m%d"), max(1, int(midnight.timestamp() - now))
    return str(int(now // span)), max(1, int(span - now % span))


def _key(tenant_id: int, quota: str, window: str) -> str:
    return f"dim:quota:{tenant_id}:{quota}:{window}"


def rate_used(tenant_id: int, quota: str) -> int:
    window, _left = _window(quota, time.time())
    with tenant_context(tenant_id):
        return int(cache.get(_key(tenant_id, quota, window)) or 0)


def _count(tenant_id: int, quota: str, adding: int, limit: int, tier: str) -> None:
    window, left = _window(quota, time.time())
    key = _key(tenant_id, quota, window)
    with tenant_context(tenant_id):
        cache.add(key, 0, timeout=WINDOWS[quota] + 60)
        used = cache.incr(key, adding)
        if used > limit:
            cache.decr(key, adding)
            raise QuotaExceeded(quota, limit, used - adding, tier=tier, retry_after=left)


def check_quota(tenant_id: int, quota: str, adding: int, usage) -> None:
    """`tenancy.hooks.check_quota`."""
    if not getattr(settings, "LIFECYCLE_QUOTAS_ENFORCED", True):
        return
    found = limits(tenant_id)
    if found is None:
        return
    tier, table = found
    limit = table.get(quota)
    if limit is None:
        return
    if quota in RATES:
        _count(tenant_id, quota, adding, limit, tier)
        return
    used = int(usage()) if usage is not None else 0
    if used + adding > limit:
        raise QuotaExceeded(quota, limit, used, tier=tier)


def usage(tenant_id: int) -> list[dict]:
    """Every quota of the tenant: limit (None: none) and what is used now, for the
    console home and the API. Caps are counted (sessions and records through the
    features' `tenant_activity` totals), rates read from their counters."""
    found = limits(tenant_id)
    tier, table = found if found else ("", {q: None for q in QUOTAS})
    now = dt.datetime.now(dt.UTC)
    with tenant_context(tenant_id):
        totals = {
            count.key: count.total
            for counts in hooks.tenant_activity.call(now - dt.timedelta(minutes=1), now)
            for count in counts
            if count.total is not None
        }
    used = {
        "users": Membership.objects.filter(tenant_id=tenant_id).count(),
        "sessions": totals.get("sessions"),
        "metadata_records": totals.get("records"),
        **{quota: rate_used(tenant_id, quota) for quota in RATES},
    }
    return [{"quota": q, "tier": tier, "limit": table.get(q), "used": used.get(q)} for q in QUOTAS]


def register() -> None:
    hooks.check_quota.register(check_quota)
    post_save.connect(_forget, sender=TierPolicy, dispatch_uid="lifecycle_quota_tier")
    post_save.connect(_forget, sender=TenantLifecycle, dispatch_uid="lifecycle_quota_row")
