"""Quotas, asked where the work happens (issue 16, "Quotas are enforced where the work
happens"): each place that creates something a tier limits calls `enforce()` before
it writes, and the answer comes from whoever provides `tenancy.hooks.check_quota` (the
lifecycle manager's tier policies). Without a provider nothing is limited.

Two kinds of quota: caps on what exists (users, live sessions, metadata records), which
refuse with 403 because waiting does not help, and rates (API requests per minute,
metric samples per day), which refuse with 429 and say when to try again. The caller
passes `usage` for a cap, a function counting what exists now: it is called only when a
limit applies, so a tenant without one pays no count.

The API request rate also honours the limit the optimiser applied for the tenant
(perf_mgr, through `hooks.applied_tuning`), counted on its own: the tier's limit and the
applied one both hold."""

from __future__ import annotations

import time
from collections.abc import Callable

from tenancy import hooks
from tenancy.context import get_current_tenant_id

CAPS = ("users", "sessions", "metadata_records")
RATES = ("metric_samples_per_day", "api_requests_per_minute")


class QuotaExceeded(Exception):
    """The work would exceed the tenant's quota; nothing was written. The API answers
    `status` (403 for a cap, 429 for a rate, with Retry-After) and code quota_exceeded."""

    def __init__(
        self, quota: str, limit: int, used: int, *, tier: str = "", retry_after: int | None = None
    ):
        self.quota, self.limit, self.used, self.tier = quota, limit, used, tier
        self.retry_after = retry_after
        self.status = 429 if quota in RATES else 403
        in_tier = f" of the {tier} tier" if tier else ""
        later = f"; try again in {retry_after} s" if retry_after else ""
        super().__init__(
            f"Quota {quota} exceeded: the limit{in_tier} is {limit}, {used} used{later}."
        )


def enforce(
    quota: str,
    *,
    adding: int = 1,
    usage: Callable[[], int] | None = None,
    tenant_id: int | None = None,
) -> None:
    """Refuse (QuotaExceeded) if adding `adding` to `quota` exceeds the tenant's limit;
    the tenant in context unless `tenant_id` is given. A no-op without a provider, or
    outside a tenant (platform work is not metered)."""
    tenant_id = tenant_id if tenant_id is not None else get_current_tenant_id()
    if tenant_id is None:
        return
    if hooks.check_quota.provided:
        hooks.check_quota.call(tenant_id, quota, adding, usage)
    if quota in TUNED and hooks.applied_tuning.provided:
        _tuned_rate(tenant_id, quota, adding)


# The rates the optimiser may tune per tenant (tenancy.hooks.applied_tuning), by knob.
TUNED = {"api_requests_per_minute": "rate_limit_per_minute"}
TUNED_WINDOW_S = 60


def _tuned_rate(tenant_id: int, quota: str, adding: int) -> None:
    """The optimiser's applied limit, counted apart from the tier's (which still holds:
    a request passes only under both). One cache counter per tenant and minute; a
    refused request takes its count back, as the tier's counter does."""
    limit = hooks.applied_tuning.call(tenant_id, TUNED[quota])
    if not limit:
        return
    from django.core.cache import cache

    from tenancy.context import tenant_context

    now = time.time()
    key = f"dim:tuned:{tenant_id}:{quota}:{int(now // TUNED_WINDOW_S)}"
    with tenant_context(tenant_id):
        cache.add(key, 0, timeout=TUNED_WINDOW_S + 60)
        used = cache.incr(key, adding)
        if used > limit:
            cache.decr(key, adding)
            raise QuotaExceeded(
                quota,
                int(limit),
                used - adding,
                retry_after=max(1, int(TUNED_WINDOW_S - now % TUNED_WINDOW_S)),
            )
