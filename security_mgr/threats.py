"""Threat detection: brute force, credential stuffing, forged-token bursts, probing
(runs of 404s) and session anomalies, with capped exponential back-off under per-tenant
policy.

Separate budgets, so that one kind of failure never throttles another:
- *password sign-ins*, counted per user+source (django-axes' key), per source and per
  user. Only the user+source budget refuses anything: that user, from that source, is
  refused before the password is checked. A source over its own budget (many failures,
  or many users: credential stuffing) only has its *failures* answered 429; a correct
  password from it still gets in. Failures of one user from many sources ask for
  step-up authentication (an event), never a block. So nobody is refused because of
  other people's failures.
- *bearer tokens*, counted per source: past the threshold the source's refused tokens
  are answered 429. A valid token never pays for this, and a token flood touches no
  sign-in budget.
- *MFA codes*: per authenticator, in the database (security_mgr/mfa.py).

Counters live in the shared cache, whose keys are namespaced per tenant by the cache's
key function, so tenants never share counters; with the shared cache unreachable they
fall back to process memory (security_mgr/throttle_store.py), never to an error.

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
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy

import audit_mgr as audit
from audit_mgr.models import EventType, Severity
from security_mgr import throttle_store
from tenancy.context import get_current_tenant, no_tenant, require_tenant_id
from tenancy.resettable import register as _resettable

DEFAULT_POLICY = {
    "window_seconds": 900,
    "user_ip_threshold": 5,  # failures of one user from one source before back-off
    "ip_threshold": 20,  # failures from one source, any user: its failures get 429
    "user_threshold": 10,  # failures of one user, any source: step-up only
    "stuffing_users": 8,  # distinct users failing from one source
    "forged_token_threshold": 10,  # refused tokens from one source before 429s
    # 404s of scoped API detail routes from one user+source, whatever the ids: a random
    # id and another tenant's id count alike (no existence oracle).
    "probe_threshold": 20,
    "probe_action": "revoke",  # past it: "revoke" the user's sessions, "step_up", "record"
    "base_backoff_seconds": 1.0,
    "max_backoff_seconds": 900.0,
}
# A setting may make a tenant stricter or laxer, never push a number past these (a
# Redis TTL must stay an integer it accepts; an infinite back-off is a lock-out).
POLICY_LIMITS = {
    "window_seconds": 7 * 86400,
    "base_backoff_seconds": 86400.0,
    "max_backoff_seconds": 86400.0,
}
MAX_THRESHOLD = 1_000_000

KINDS = {"login", "token_invalid", "not_found", "session_anomaly"}
SESSION_ACTIONS = {"revoke": "revoke_sessions", "step_up": "step_up", "record": "", "": ""}
# Policy keys whose value is one of a few words rather than a positive number.
POLICY_CHOICES = {"probe_action": ("revoke", "step_up", "record")}

# What a verdict says is backing off (`Verdict.throttled`), and the action recorded.
ACCOUNT_FROM_SOURCE = "sign_ins_account_source"
SOURCE_SIGN_INS = "sign_ins_source"
SOURCE_TOKENS = "tokens_source"
# Lazy: shown in the console's language on its sign-in form, in English by the API.
MESSAGES = {
    ACCOUNT_FROM_SOURCE: gettext_lazy(
        "Too many failed sign-ins for this account from your address"
    ),
    SOURCE_SIGN_INS: gettext_lazy(
        "Too many failed sign-ins from your address (several accounts): "
        "failed attempts from it are slowed down"
    ),
    SOURCE_TOKENS: gettext_lazy(
        "Too many refused session tokens from your address: token attempts from it are slowed down"
    ),
}
ACTIONS = {
    ACCOUNT_FROM_SOURCE: "temporary_block",  # the account, from that source only
    SOURCE_SIGN_INS: "slow_failures",
    SOURCE_TOKENS: "slow_tokens",
}
BACKOFF_ACTIONS = tuple(ACTIONS.values())


@dataclass
class Verdict:
    """`allowed` False: the next attempt of this kind from this source is refused before
    it is checked (`retry_after` seconds). `throttled` names the budget that is backing
    off; for the source's sign-in budget `allowed` stays True (a correct password still
    gets in) and `retry_after` says how long failures from it are answered 429."""

    allowed: bool = True
    retry_after: float = 0.0
    actions: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    throttled: str = ""

    @property
    def message(self) -> str:
        return str(MESSAGES.get(self.throttled, ""))

    def merge(self, other: Verdict) -> None:
        """Several scopes answered: a refusal wins over a slow-down, which wins over
        nothing; the winner's message and the longest wait for it."""
        if not other.allowed and self.allowed:
            self.allowed, self.throttled = False, other.throttled
            self.retry_after = other.retry_after
        elif other.allowed == self.allowed and other.throttled:
            self.throttled = self.throttled or other.throttled
            self.retry_after = max(self.retry_after, other.retry_after)
        self.events += other.events
        self.actions += [a for a in other.actions if a not in self.actions]


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


@_resettable
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
    """Known keys with sane values over the defaults; positive numbers are capped
    (POLICY_LIMITS, MAX_THRESHOLD), anything else is ignored."""
    policy = dict(DEFAULT_POLICY)
    if isinstance(configured, dict):
        for key, default in DEFAULT_POLICY.items():
            value = configured.get(key)
            if key in POLICY_CHOICES:
                if isinstance(value, str) and value in POLICY_CHOICES[key]:
                    policy[key] = value
                continue
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                limit = POLICY_LIMITS.get(key, MAX_THRESHOLD)
                value = limit if not math.isfinite(value) else min(value, limit)
                policy[key] = type(default)(max(value, 1) if isinstance(default, int) else value)
    return policy


def _platform_policy() -> dict:
    from django.conf import settings

    return _merged(getattr(settings, "SECURITY_THREAT_POLICY", None) or {})


def _h(value: str) -> str:
    # Keys stay short and never carry raw user input into the cache's key space.
    return hashlib.blake2b(value.encode(), digest_size=12).hexdigest()


def _incr(key: str, window: int) -> int:
    store = throttle_store.store()
    store.add(key, 0, window)
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, window)
        return 1


# For other detectors (security_mgr/probes.py): the same hashing and windowed counters.
hashed = _h
count = _incr

# 2 ** 64 times the smallest base worth configuring exceeds every allowed maximum: the
# exponent stops there, so a long flood never builds a huge integer (or overflows the
# float conversion, which `2 ** (excess - 1)` did past ~1,000 failures).
MAX_EXPONENT = 64


def _backoff(excess: int, policy: dict) -> float:
    if excess <= 0:
        return 0.0
    base, cap = policy["base_backoff_seconds"], policy["max_backoff_seconds"]
    return min(cap, base * float(1 << min(excess - 1, MAX_EXPONENT)))


def _crossed(count: int, threshold: int) -> bool:
    """True when `count` just passed the threshold, or the excess is a power of two."""
    excess = count - threshold
    return excess > 0 and excess & (excess - 1) == 0


def _block(key: str, seconds: float) -> None:
    # Integer milliseconds: stored raw by django-redis, so a script can read it too.
    until, ttl = int((time.time() + seconds) * 1000), max(1, math.ceil(seconds))
    redis = throttle_store.redis()
    if redis is not None:  # what cache.set writes for an int, without its Python layers
        redis.set(throttle_store.store().make_key(key), until, ex=ttl)
    else:
        throttle_store.store().set(key, until, ttl)


def _as_ms(value) -> int:
    return int(value) if isinstance(value, int | float) else 0


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


def _pw_blocks(u: str, s: str) -> list[str]:
    """The sign-in blocks: this user from this source, and this source's failures."""
    return [f"thr:blk:pw:ui:{u}:{s}", f"thr:blk:pw:ip:{s}"]


def _failure_counts(u: str, s: str, window: int):
    """-> (n_user_ip, n_ip, n_user, new_user_for_source, n_users_of_source,
    account_blocked_ms, source_blocked_ms)"""
    counters = [f"thr:pw:ui:{u}:{s}", f"thr:pw:ip:{s}", f"thr:pw:u:{u}"]
    blocks = _pw_blocks(u, s)
    redis = throttle_store.redis()
    if redis is not None:
        key = throttle_store.store().make_key
        names = [*counters, f"thr:pw:userset:{s}", *blocks]  # the set is a Redis set
        r = _failure_script(redis)(keys=[key(name) for name in names], args=[window, u])
        ui, ip = (_as_ms(throttle_store.decode(v)) if v else 0 for v in r[5:7])
        return r[0], r[1], r[2], r[3] == 1, r[4], ui, ip
    store = throttle_store.store()
    n_ui, n_ip, n_u = (_incr(name, window) for name in counters)
    new_user = store.add(f"thr:pw:seen:{s}:{u}", 1, window)
    n_users = _incr(f"thr:pw:users:{s}", window) if new_user else 0
    found = store.get_many(blocks)
    ui, ip = (_as_ms(found.get(name)) for name in blocks)
    return n_ui, n_ip, n_u, new_user, n_users, ui, ip


def _record(verdict, type_, severity, *, actor, source, details, action, platform=False, **refs):
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
    audit.record_security_event(
        type_, severity, actor=actor, source=source, details=details, action=action, **refs
    )


def _left(until_ms: int) -> float:
    return until_ms / 1000 - time.time()


def _sign_in_verdict(account_until_ms: int, source_until_ms: int) -> Verdict:
    account, source = _left(account_until_ms), _left(source_until_ms)
    if account > 0:
        return Verdict(False, account, ["temporary_block"], throttled=ACCOUNT_FROM_SOURCE)
    if source > 0:
        return Verdict(True, source, [], throttled=SOURCE_SIGN_INS)
    return Verdict()


def login_allowed(username: str, ip: str) -> Verdict:
    """Ask before checking a password: is this user, from this source, backing off?
    (Refused only for this user's own failures from this source; a source backing off
    is reported in `throttled`, for its failures alone.)"""
    _scope_id("login_allowed")
    return throttle_store.run(_login_allowed, _h(username), _h(ip))


def _login_allowed(u: str, s: str) -> Verdict:
    blocks = _pw_blocks(u, s)
    found = throttle_store.store().get_many(blocks)
    return _sign_in_verdict(*(_as_ms(found.get(name)) for name in blocks))


def _back_off(verdict, policy, count, threshold, key, severity, throttled, username, ip, facts,
              event_type=EventType.BRUTE_FORCE):  # fmt: skip
    """Over `threshold` failures: back off `key` exponentially (capped), and record an
    event the first time the threshold is crossed and each time the excess doubles."""
    if count <= threshold:
        return
    delay = _backoff(count - threshold, policy)
    _block(key, delay)
    _note(verdict, throttled, delay)
    if _crossed(count, threshold):
        _record(
            verdict,
            event_type,
            severity,
            actor=username,
            source=ip,
            details={**facts, "backoff_seconds": delay},
            action=ACTIONS[throttled],
        )


def _note(verdict: Verdict, throttled: str, delay: float) -> None:
    """Say in `verdict` that `throttled` backs off for `delay` seconds; only the
    source's sign-in budget lets the next attempt through (its failures get 429)."""
    verdict.merge(Verdict(throttled == SOURCE_SIGN_INS, delay, throttled=throttled))


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
    details = dict(details or {})
    if kind == "session_anomaly":  # no counters: nothing to fall back for
        return _session_anomaly(username, ip, details)
    return throttle_store.run(_observe, kind, username, ip, success, details, policy)


def _observe(kind, username, ip, success, details, policy) -> Verdict:
    window = int(policy["window_seconds"])
    u, s = _h(username), _h(ip)
    if kind == "login":
        if success:
            throttle_store.store().delete(f"thr:pw:ui:{u}:{s}")  # proved themselves here
            return _login_allowed(u, s)
        return _login_failure(u, s, username, ip, window, policy)
    if kind == "token_invalid":
        return _token_refused(s, ip, window, policy, details)
    return _not_found(u, s, username, ip, window, policy, details)


def _login_failure(u, s, username, ip, window, policy) -> Verdict:
    # A user counts once per source: re-trying one user is brute force, not stuffing.
    n_ui, n_ip, n_u, new_user, n_users, account, source = _failure_counts(u, s, window)
    verdict = _sign_in_verdict(account, source)
    facts = {"failures_user_ip": n_ui, "failures_ip": n_ip, "failures_user": n_u}
    account_key, source_key = _pw_blocks(u, s)
    for count, threshold, key, severity, throttled in (
        (n_ui, policy["user_ip_threshold"], account_key, Severity.MEDIUM, ACCOUNT_FROM_SOURCE),
        (n_ip, policy["ip_threshold"], source_key, Severity.HIGH, SOURCE_SIGN_INS),
    ):
        _back_off(verdict, policy, count, threshold, key, severity, throttled, username, ip, facts)
    if new_user and _crossed(n_users + 1, policy["stuffing_users"]):
        delay = policy["max_backoff_seconds"]
        _block(source_key, delay)
        _note(verdict, SOURCE_SIGN_INS, delay)
        _record(
            verdict,
            EventType.CREDENTIAL_STUFFING,
            Severity.CRITICAL,
            actor=username,
            source=ip,
            details={**facts, "distinct_users": n_users},
            action=ACTIONS[SOURCE_SIGN_INS],
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


def _token_refused(s, ip, window, policy, details) -> Verdict:
    """A forged or tampered token from `ip`. Only this source's token attempts back off
    (its refused tokens are answered 429); sign-ins and valid tokens are untouched."""
    verdict = Verdict()
    n = _incr(f"thr:tok:{s}", window)
    threshold = policy["forged_token_threshold"]
    if n <= threshold:
        return verdict
    delay = _backoff(n - threshold, policy)
    _note(verdict, SOURCE_TOKENS, delay)
    if _crossed(n, threshold):
        _record(
            verdict,
            EventType.FORGED_TOKENS,
            Severity.HIGH,
            actor="",
            source=ip,
            details={**details, "count": n, "backoff_seconds": delay},
            action=ACTIONS[SOURCE_TOKENS],
        )
    return verdict


def _not_found(u, s, username, ip, window, policy, details) -> Verdict:
    # By source alone. Nothing about the id itself (let alone whether another tenant
    # has it) may change the count, the action or the event: that would be an oracle.
    verdict = Verdict()
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


def _session_anomaly(username, ip, details) -> Verdict:
    # Reported by the session manager, which acted already: the one event of the
    # anomaly, with the session, its user and the score as the event's references.
    verdict = Verdict()
    refs = {
        "session_id": str(details.pop("session", "") or ""),
        "user_id": details.pop("user_id", None),
        "score": details.pop("score", None),
    }
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
        **refs,
    )
    return verdict
