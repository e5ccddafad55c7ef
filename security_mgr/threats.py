"""Threat detection: brute force, credential stuffing, forged-token bursts, probing
(runs of 404s) and session anomalies, with exponential back-off under per-tenant policy.

Counters live in the shared cache, whose keys are namespaced per tenant by the cache's
key function, so tenants never share counters. Failed logins are counted per user+IP,
per IP and per user. Blocks apply to a user *from one source* and to a source; failures
against a user from many sources only ask for step-up authentication (MFA), never
block the account: otherwise anyone could lock every user out by guessing badly.

`analyze_threat()` returns a `Verdict`; a `SecurityEvent` (and an audit entry) is
written when a threshold is crossed, and again each time the excess doubles, not for
every failure, so an attack cannot flood the tables.

Probing is counted by source alone (user + client address): whether a refused id exists
in another tenant is never asked, so the reaction to a run of 404s cannot reveal which
ids other tenants hold. Its events go to the platform audit log, not to the tenant's
SecurityEvents or log (security_mgr/probes.py).
"""

from __future__ import annotations

import contextvars
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.cache import cache

from security_mgr import audit
from security_mgr.event_store import record_security_event
from security_mgr.models import EventType, Severity
from tenancy.context import get_current_tenant, no_tenant, require_tenant_id

DEFAULT_POLICY = {
    "window_seconds": 900,
    "user_ip_threshold": 5,  # failures of one user from one source before back-off
    "ip_threshold": 20,  # failures from one source, any user
    "user_threshold": 10,  # failures of one user, any source: step-up only
    "stuffing_users": 8,  # distinct users failing from one source
    "forged_token_threshold": 10,
    # 404s of scoped API detail routes from one user+source, whatever the ids: a random
    # id and another tenant's id count alike (no existence oracle).
    "probe_threshold": 20,
    "probe_action": "revoke",  # past it: "revoke" the user's sessions, "step_up", "record"
    "base_backoff_seconds": 1.0,
    "max_backoff_seconds": 900.0,
}

KINDS = {"login", "token_invalid", "not_found", "session_anomaly"}
SESSION_ACTIONS = {"revoke": "revoke_sessions", "step_up": "step_up", "record": "", "": ""}
# Policy keys whose value is one of a few words rather than a positive number.
POLICY_CHOICES = {"probe_action": ("revoke", "step_up", "record")}


@dataclass
class Verdict:
    allowed: bool = True
    retry_after: float = 0.0
    actions: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


_policies: dict[int, tuple[float, dict]] = {}
POLICY_CACHE_SECONDS = 5.0
PLATFORM_SCOPE = 0  # the policy cache's key for the platform scope

_platform_scope: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "dim_threat_platform_scope", default=False
)


@contextmanager
def platform_scope() -> Iterator[None]:
    """Observe with no tenant: logins that name no tenant and no known user. Counters
    and blocks live in the cache's platform namespace, the policy is the platform's
    (`SECURITY_THREAT_POLICY`), and events go to the platform audit log (a
    SecurityEvent belongs to a tenant). Explicit, so that forgetting the tenant still
    fails closed everywhere else."""
    token = _platform_scope.set(True)
    try:
        with no_tenant():
            yield
    finally:
        _platform_scope.reset(token)


def _scope_id(operation: str) -> int:
    tenant = get_current_tenant()
    if tenant is not None:
        return tenant.id
    if _platform_scope.get():
        return PLATFORM_SCOPE
    return require_tenant_id(operation)  # raises: no tenant and no platform scope


def forget_policies() -> None:
    _policies.clear()


def threat_policy() -> dict:
    """The tenant's policy over the defaults; kept in process for a few seconds (and
    dropped at once when the setting is saved here) because every login asks."""
    tenant_id = _scope_id("threat_policy")
    cached = _policies.get(tenant_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    policy = _load_policy() if tenant_id != PLATFORM_SCOPE else _platform_policy()
    _policies[tenant_id] = (time.monotonic() + POLICY_CACHE_SECONDS, policy)
    return policy


def _load_policy() -> dict:
    from tenancy.selectors import get_tenant_setting

    return _merged(get_tenant_setting("security.threat_policy", {}))


def _merged(configured) -> dict:
    policy = dict(DEFAULT_POLICY)
    if isinstance(configured, dict):
        for key, default in DEFAULT_POLICY.items():
            value = configured.get(key)
            if key in POLICY_CHOICES:
                if isinstance(value, str) and value in POLICY_CHOICES[key]:
                    policy[key] = value
                continue
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                policy[key] = type(default)(value)
    return policy


def _platform_policy() -> dict:
    from django.conf import settings

    return _merged(getattr(settings, "SECURITY_THREAT_POLICY", None) or {})


def _h(value: str) -> str:
    # Keys stay short and never carry raw user input into the cache's key space.
    return hashlib.blake2b(value.encode(), digest_size=12).hexdigest()


def _incr(key: str, window: int) -> int:
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


# For other detectors (security_mgr/probes.py): the same hashing and windowed counters.
hashed = _h
count = _incr


def _backoff(excess: int, policy: dict) -> float:
    return min(policy["max_backoff_seconds"], policy["base_backoff_seconds"] * 2 ** (excess - 1))


def _crossed(count: int, threshold: int) -> bool:
    """True when `count` just passed the threshold, or the excess is a power of two."""
    excess = count - threshold
    return excess > 0 and excess & (excess - 1) == 0


def _block(key: str, seconds: float) -> None:
    # Integer milliseconds: stored raw by django-redis, so a script can read it too.
    until, ttl = int((time.time() + seconds) * 1000), max(1, int(seconds + 0.999))
    redis = _redis()
    if redis is not None:  # what cache.set writes for an int, without its Python layers
        redis.set(cache.make_key(key), until, ex=ttl)
    else:
        cache.set(key, until, ttl)


def _as_ms(value) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _redis():
    """The raw Redis client when the cache is django-redis (one round trip per
    observation through a pipeline), else None (any other cache: one call per key)."""
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if hasattr(client, "get_client") else None


# One observation's counters in one command (not ten in a pipeline: redis-py packs and
# parses each command in Python, most of an observation's cost). Counters and the
# source's set of users expire `window` seconds after they were created, as EXPIRE NX
# would; a single Redis server (all keys in one slot space), as configured here.
_FAILURE_SCRIPT = """
local window = tonumber(ARGV[1])
local out = {}
for i = 1, 3 do
  out[i] = redis.call('INCR', KEYS[i])
  if redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIRE', KEYS[i], window) end
end
out[4] = redis.call('SADD', KEYS[4], ARGV[2])
if redis.call('TTL', KEYS[4]) == -1 then redis.call('EXPIRE', KEYS[4], window) end
out[5] = redis.call('SCARD', KEYS[4])
local blocks = redis.call('MGET', KEYS[5], KEYS[6])
out[6] = blocks[1] or ''
out[7] = blocks[2] or ''
return out
"""
_scripts: dict[int, object] = {}


def _failure_script(redis):
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_FAILURE_SCRIPT)
    return script


def _failure_counts(u: str, s: str, window: int):
    """-> (n_user_ip, n_ip, n_user, new_user_for_source, n_users_of_source, blocked_ms)"""
    counters = [f"thr:ui:{u}:{s}", f"thr:ip:{s}", f"thr:u:{u}"]
    blocks = [f"thr:blk:ui:{u}:{s}", f"thr:blk:ip:{s}"]
    redis = _redis()
    if redis is not None:
        key = cache.make_key
        names = [*counters, f"thr:userset:{s}", *blocks]  # the set is a Redis set
        r = _failure_script(redis)(keys=[key(name) for name in names], args=[window, u])
        until = max((_as_ms(cache.client.decode(v)) for v in r[5:7] if v), default=0)
        return r[0], r[1], r[2], r[3] == 1, r[4], until
    n_ui, n_ip, n_u = (_incr(name, window) for name in counters)
    new_user = cache.add(f"thr:seen:{s}:{u}", 1, window)
    n_users = _incr(f"thr:users:{s}", window) if new_user else 0
    until = max((v for v in cache.get_many(blocks).values() if v), default=0)
    return n_ui, n_ip, n_u, new_user, n_users, until


def _record(verdict, type_, severity, *, actor, source, details, action, platform=False):
    """The event and its audit entry: in the tenant's SecurityEvents and log, or, in the
    platform scope or when `platform` is set, in the platform audit log only (naming
    the tenant it was observed in, if any), where tenant staff never read it."""
    verdict.events.append(type_)
    if action and action not in verdict.actions:
        verdict.actions.append(action)
    tenant = get_current_tenant()
    if tenant is None or platform:
        where = {} if tenant is None else {"tenant_id": tenant.id, "tenant": tenant.slug}
        audit.append(
            f"security.{type_}",
            {"severity": severity, "source": source, "action": action, **where, **details},
            actor=actor,
            log=audit.platform_log(),
        )
        return
    record_security_event(
        type_, severity, actor=actor, source=source, details=details, action=action
    )


def login_allowed(username: str, ip: str) -> Verdict:
    """Ask before checking a password: is this user, from this source, backing off?"""
    _scope_id("login_allowed")
    keys = [f"thr:blk:ui:{_h(username)}:{_h(ip)}", f"thr:blk:ip:{_h(ip)}"]
    return _verdict_for_block(max((v for v in cache.get_many(keys).values() if v), default=0))


def _verdict_for_block(until_ms: int) -> Verdict:
    left = until_ms / 1000 - time.time()
    if left > 0:
        return Verdict(False, left, ["temporary_block"])
    return Verdict()


def _back_off_source(
    verdict,
    policy,
    count,
    threshold,
    key,
    severity,
    username,
    ip,
    facts,
    event_type=EventType.BRUTE_FORCE,
):
    """Over `threshold` failures: block `key` with exponential back-off, and record an
    event (brute force unless told otherwise) the first time the threshold is crossed."""
    if count <= threshold:
        return
    delay = _backoff(count - threshold, policy)
    _block(key, delay)
    verdict.allowed, verdict.retry_after = False, max(verdict.retry_after, delay)
    if _crossed(count, threshold):
        _record(
            verdict,
            event_type,
            severity,
            actor=username,
            source=ip,
            details={**facts, "backoff_seconds": delay},
            action="temporary_block",
        )


def analyze_threat(
    kind: str,
    *,
    username: str = "",
    ip: str = "",
    success: bool = False,
    details: dict | None = None,
) -> Verdict:
    """Feed one observation; returns what to do now (the seed's "Threat Analysis").

    kind: "login" (with success), "token_invalid", "not_found" (a refused lookup; only
    its source counts, details `model`), "session_anomaly" (details `severity`,
    `reason`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown observation {kind!r}; one of {sorted(KINDS)}")
    _scope_id("analyze_threat")
    policy = threat_policy()
    window = int(policy["window_seconds"])
    details = dict(details or {})
    verdict = Verdict()
    u, s = _h(username), _h(ip)

    if kind == "login":
        if success:
            cache.delete(f"thr:ui:{u}:{s}")  # the user proved themselves from here
            return login_allowed(username, ip)
        # A user counts once per source: re-trying one user is brute force, not stuffing.
        n_ui, n_ip, n_u, new_user, n_users, blocked = _failure_counts(u, s, window)
        verdict = _verdict_for_block(blocked)
        facts = {"failures_user_ip": n_ui, "failures_ip": n_ip, "failures_user": n_u}
        for count, threshold, key, severity in (
            (n_ui, policy["user_ip_threshold"], f"thr:blk:ui:{u}:{s}", Severity.MEDIUM),
            (n_ip, policy["ip_threshold"], f"thr:blk:ip:{s}", Severity.HIGH),
        ):
            _back_off_source(verdict, policy, count, threshold, key, severity, username, ip, facts)
        if new_user and _crossed(n_users + 1, policy["stuffing_users"]):
            delay = policy["max_backoff_seconds"]
            _block(f"thr:blk:ip:{s}", delay)
            verdict.allowed, verdict.retry_after = False, max(verdict.retry_after, delay)
            _record(
                verdict,
                EventType.CREDENTIAL_STUFFING,
                Severity.CRITICAL,
                actor=username,
                source=ip,
                details={**facts, "distinct_users": n_users},
                action="temporary_block",
            )
        if n_u > policy["user_threshold"]:
            if "step_up" not in verdict.actions:
                verdict.actions.append("step_up")
            if _crossed(n_u, policy["user_threshold"]):
                _record(
                    verdict,
                    EventType.BRUTE_FORCE,
                    Severity.HIGH,
                    actor=username,
                    source=ip,
                    details=facts,
                    action="step_up",
                )
        return verdict

    if kind == "token_invalid":
        n = _incr(f"thr:tok:{s}", window)
        _back_off_source(
            verdict,
            policy,
            n,
            policy["forged_token_threshold"],
            f"thr:blk:ip:{s}",
            Severity.HIGH,
            username,
            ip,
            {**details, "count": n},
            event_type=EventType.FORGED_TOKENS,
        )
        return verdict

    if kind == "not_found":
        # By source alone. Nothing about the id itself (let alone whether another tenant
        # has it) may change the count, the action or the event: that would be an oracle.
        n = _incr(f"thr:probe:{u}:{s}", window)
        threshold = policy["probe_threshold"]
        if n > threshold:
            action = SESSION_ACTIONS[policy["probe_action"]]
            if action:
                verdict.actions.append(action)
            if _crossed(n, threshold):
                model = details.get("model")
                _record(
                    verdict,
                    EventType.CROSS_TENANT_PROBE,
                    Severity.HIGH,
                    actor=username,
                    source=ip,
                    details={"count": n, **({"model": model} if isinstance(model, str) else {})},
                    action=action,
                    platform=True,
                )
        return verdict

    # session_anomaly: reported by the session manager, acted on at once.
    severity = details.get("severity") if details.get("severity") in Severity.values else "medium"
    action = "revoke_sessions" if severity in ("high", "critical") else "step_up"
    # The session manager acts under its own policy and says what it did.
    action = SESSION_ACTIONS.get(details.pop("action_taken", None), action)
    _record(
        verdict,
        EventType.SESSION_ANOMALY,
        severity,
        actor=username,
        source=ip,
        details=details,
        action=action,
    )
    return verdict
