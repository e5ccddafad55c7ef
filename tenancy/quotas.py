"""Quotas, asked where the work happens (issue 16, "Quotas are enforced where the work
happens"): each place that creates something a tier limits calls `enforce()` before
it writes, and the answer comes from whoever provides `tenancy.hooks.check_quota` (the
lifecycle manager's tier policies). Without a provider nothing is limited.

Two kinds of quota: caps on what exists (users, live sessions, metadata records), which
refuse with 403 because waiting does not help, and rates (API requests per minute,
metric samples per day), which refuse with 429 and say when to try again. The caller
passes `usage` for a cap, a function counting what exists now: it is called only when a
limit applies, so a tenant without one pays no count."""

from __future__ import annotations

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
    if not hooks.check_quota.provided:
        return
    tenant_id = tenant_id if tenant_id is not None else get_current_tenant_id()
    if tenant_id is None:
        return
    hooks.check_quota.call(tenant_id, quota, adding, usage)
