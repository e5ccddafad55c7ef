"""Security levels as policy. Defaults below; a tenant overrides any field of a level with
the TenantSetting `session.policy.<level>` (a JSON object of the fields to change).

The table in docs/sessions.md ("Security levels") is generated from DEFAULTS by `policy_table()`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields, replace

from sessions_mgr.models import SecurityLevel
from tenancy import resettable

# Binding of a session to the client that created it.
BIND_NONE, BIND_NETWORK, BIND_EXACT = "none", "network", "exact"
# What happens at the concurrent-session limit, and above the anomaly threshold.
LIMIT_END_OLDEST, LIMIT_DENY = "end_oldest", "deny"
ANOMALY_RECORD, ANOMALY_STEP_UP, ANOMALY_REVOKE = "record", "step_up", "revoke"


@dataclass(frozen=True)
class Policy:
    level: str
    idle_seconds: int
    absolute_seconds: int
    binding: str
    max_sessions: int
    on_limit: str
    mfa_required: bool
    signed: bool  # ML-DSA-65 signature for offline verification by third parties
    anomaly_threshold: float
    anomaly_action: str

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULTS: dict[str, Policy] = {
    SecurityLevel.STANDARD: Policy(
        "standard", 30 * 60, 12 * 3600, BIND_NONE, 20, LIMIT_END_OLDEST, False, False,
        0.90, ANOMALY_RECORD,
    ),
    SecurityLevel.HIGH: Policy(
        "high", 15 * 60, 8 * 3600, BIND_NETWORK, 10, LIMIT_END_OLDEST, False, False,
        0.80, ANOMALY_STEP_UP,
    ),
    SecurityLevel.CRITICAL: Policy(
        "critical", 5 * 60, 3600, BIND_EXACT, 3, LIMIT_DENY, True, False,
        0.70, ANOMALY_REVOKE,
    ),
    SecurityLevel.QUANTUM: Policy(
        "quantum", 5 * 60, 3600, BIND_EXACT, 3, LIMIT_DENY, True, True,
        0.70, ANOMALY_REVOKE,
    ),
}  # fmt: skip

_CHOICES = {
    "binding": {BIND_NONE, BIND_NETWORK, BIND_EXACT},
    "on_limit": {LIMIT_END_OLDEST, LIMIT_DENY},
    "anomaly_action": {ANOMALY_RECORD, ANOMALY_STEP_UP, ANOMALY_REVOKE},
}
_TYPES = {f.name: f.type for f in fields(Policy)}
CACHE_SECONDS = 30.0
_cache: dict[tuple[int, str], tuple[float, Policy]] = {}


def setting_key(level: str) -> str:
    return f"session.policy.{level}"


def apply_overrides(base: Policy, overrides) -> Policy:
    """Only known fields with sane values are taken; a bad override is ignored rather than
    letting a typo in a setting weaken (or break) every session of the tenant."""
    if not isinstance(overrides, dict):
        return base
    changes = {}
    for name, value in overrides.items():
        if name == "level" or name not in _TYPES:
            continue
        if name in _CHOICES:
            if value in _CHOICES[name]:
                changes[name] = value
        elif _TYPES[name] in ("bool", bool):
            if isinstance(value, bool):
                changes[name] = value
        elif _TYPES[name] in ("int", int):
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                changes[name] = value
        elif _TYPES[name] in ("float", float):
            if isinstance(value, (int, float)) and 0 < value <= 1:
                changes[name] = float(value)
    policy = replace(base, **changes)
    if policy.idle_seconds > policy.absolute_seconds:
        policy = replace(policy, idle_seconds=policy.absolute_seconds)
    return policy


def policy_for(level: str, tenant_id: int | None = None) -> Policy:
    """The tenant's policy of `level` (cached per process for CACHE_SECONDS; changing the
    setting through `do_set_session_policy` drops the cache in every process)."""
    base = DEFAULTS[SecurityLevel(level)]
    if tenant_id is None:
        return base
    key = (tenant_id, base.level)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    from tenancy.context import TenantRef, tenant_context
    from tenancy.models import TenantSetting

    with tenant_context(TenantRef.for_id(tenant_id)):
        row = TenantSetting.objects.filter(key=setting_key(base.level)).first()
    policy = apply_overrides(base, row.value if row else None)
    _cache[key] = (now, policy)
    return policy


@resettable.register
def forget(tenant_id: int | None = None) -> None:
    for key in [k for k in _cache if tenant_id is None or k[0] == tenant_id]:
        _cache.pop(key, None)


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def policy_table() -> str:
    head = (
        "| Level | Idle timeout | Absolute timeout | Client binding | Concurrent sessions "
        "| At the limit | MFA | Token | Anomaly threshold | Above it |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    binding = {
        BIND_NONE: "none",
        BIND_NETWORK: "network (/24 or /64) + user agent",
        BIND_EXACT: "exact IP + user agent",
    }
    rows = [
        f"| {p.level} | {_duration(p.idle_seconds)} | {_duration(p.absolute_seconds)} "
        f"| {binding[p.binding]} | {p.max_sessions} | {p.on_limit.replace('_', ' ')} "
        f"| {'required*' if p.mfa_required else '—'} "
        f"| {'HMAC + ML-DSA-65' if p.signed else 'HMAC-SHA256'} | {p.anomaly_threshold:g} "
        f"| {p.anomaly_action.replace('_', '-')} |"
        for p in DEFAULTS.values()
    ]
    return "\n".join([head, *rows])
