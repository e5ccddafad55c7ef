"""The tuning the optimiser applied (perf_mgr/optimize.py), for the layers that act on
it: the provider of `tenancy.hooks.applied_tuning`, read by cache_mgr (the tenant's
default TTL) and by tenancy.quotas (the tenant's API request limit).

Those reads are on hot paths, so a tenant's values are remembered in the process for
MEMO_SECONDS and forgotten at once when its `performance.tuning` setting is saved or
deleted in this process (applying and rolling back save it); other processes see the
change within the memo's life."""

from __future__ import annotations

import threading
import time

from django.db import transaction

from tenancy import resettable
from tenancy.context import tenant_context

TUNING_KEY = "performance.tuning"
MEMO_SECONDS = 30.0
KNOBS = ("cache_ttl_seconds", "rate_limit_per_minute")

_memo: dict[int, tuple[float, dict]] = {}
_lock = threading.Lock()
resettable.register(_memo.clear, name="perf_mgr.tuning._memo")


def _read(tenant_id: int) -> dict:
    from tenancy.models import TenantSetting

    with tenant_context(tenant_id):
        row = TenantSetting.objects.filter(key=TUNING_KEY).values_list("value", flat=True).first()
    return dict(row) if isinstance(row, dict) else {}


def applied(tenant_id: int, knob: str):
    """`tenancy.hooks.applied_tuning`: the applied value of `knob`, or None."""
    now = time.monotonic()
    hit = _memo.get(tenant_id)
    if hit is None or hit[0] <= now:
        values = _read(tenant_id)
        with _lock:
            _memo[tenant_id] = (now + MEMO_SECONDS, values)
    else:
        values = hit[1]
    value = values.get(knob)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return value


def forget(sender, instance, **kwargs) -> None:
    """Forget the tenant's values now and again at the commit (a read in between would
    otherwise remember the old row for MEMO_SECONDS)."""
    if getattr(instance, "key", None) != TUNING_KEY:
        return
    tenant_id = instance.tenant_id

    def drop() -> None:
        with _lock:
            _memo.pop(tenant_id, None)

    drop()
    transaction.on_commit(drop)
