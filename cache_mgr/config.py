"""Settings of the cache manager, read once (and again whenever a test overrides one)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed

from tenancy import hooks, resettable


@dataclass(frozen=True, slots=True)
class Config:
    local_tier: bool
    local_max_entries: int
    local_max_bytes: int
    local_max_age: float  # seconds a local copy may live: the bound on a missed message
    generation_check: float  # seconds between generation checks against the shared tier
    quota_keys: int
    quota_bytes: int
    prefetch: bool
    stats_flush: float
    lock_wait: float
    xfetch_beta: float


_config: Config | None = None


def get() -> Config:
    global _config
    if _config is None:
        _config = Config(
            local_tier=bool(getattr(settings, "CACHE_LOCAL_TIER_ENABLED", True)),
            local_max_entries=getattr(settings, "CACHE_LOCAL_MAX_ENTRIES", 100_000),
            local_max_bytes=getattr(settings, "CACHE_LOCAL_MAX_BYTES", 256 * 1024 * 1024),
            local_max_age=float(getattr(settings, "CACHE_LOCAL_MAX_AGE", 5.0)),
            generation_check=float(getattr(settings, "CACHE_GENERATION_CHECK_SECONDS", 1.0)),
            quota_keys=getattr(settings, "CACHE_TENANT_QUOTA_KEYS", 50_000),
            quota_bytes=getattr(settings, "CACHE_TENANT_QUOTA_BYTES", 64 * 1024 * 1024),
            prefetch=bool(getattr(settings, "CACHE_PREFETCH_ENABLED", True)),
            stats_flush=float(getattr(settings, "CACHE_STATS_FLUSH_SECONDS", 5.0)),
            lock_wait=float(getattr(settings, "CACHE_LOCK_WAIT_SECONDS", 5.0)),
            xfetch_beta=float(getattr(settings, "CACHE_XFETCH_BETA", 1.0)),
        )
    return _config


def tenant_quota(tenant_id: int, kind: str) -> int:
    """The tenant's quota (`keys` or `bytes`): a tier policy when an app registered the
    `cache_quota` hook (the lifecycle manager's tiers), else the settings' default."""
    override = hooks.cache_quota.call(tenant_id, kind) if hooks.cache_quota.provided else None
    if override:
        return int(override)
    return get().quota_keys if kind == "keys" else get().quota_bytes


DEFAULT_TTL = 300.0
MAX_TIMEOUT = 30 * 86400  # the longest an entry may live (api.set refuses more)


def tuned_ttl(tenant_id: int) -> float | None:
    """The tenant's cache TTL as the optimiser applied it (perf_mgr, through the
    `applied_tuning` hook), or None."""
    if not hooks.applied_tuning.provided:
        return None
    value = hooks.applied_tuning.call(tenant_id, "cache_ttl_seconds")
    # A value the cache would refuse (the setting is the tenant admin's to write) is
    # ignored, not turned into a failing write on every cached read of the tenant.
    if not value or not 0 < float(value) <= MAX_TIMEOUT:
        return None
    return float(value)


def default_ttl(tenant_id: int) -> float:
    """The TTL of an entry stored without one: the applied value, else DEFAULT_TTL."""
    return tuned_ttl(tenant_id) or DEFAULT_TTL


@resettable.register
def reset() -> None:
    global _config
    _config = None


def _on_setting_changed(setting, **kwargs):
    if setting.startswith("CACHE_"):
        reset()


setting_changed.connect(_on_setting_changed)
