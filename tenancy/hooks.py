"""Typed hooks: how a lower layer (or one feature) asks for something another app
provides, without importing it.

The layers (docs/architecture.md) forbid upward imports and imports between features.
When security asks "end this user's sessions" or sessions ask "is this second factor
right?", the asking app calls a hook declared here, in the core, and the answering app
registers its function in its `AppConfig.ready()`. Each hook states its contract in its
docstring: what it is given, what it returns, what it may raise, in which transaction
it runs.

Two kinds:
- one provider (`many=False`): the caller needs an answer. `call()` returns the
  provider's; with no provider it raises `HookNotProvided` naming the app to install.
  A second, different provider is refused (two answers to one question is a bug).
- listeners (`many=True`): the caller announces something. `call()` runs every
  listener in registration order and returns their results; none is fine.

`register()` is idempotent for the same function (ready() may run twice in tests) and
usable as a decorator. Tests replace a provider for a block with `override()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class HookNotProvided(LookupError):
    """A hook that must answer has no provider: the providing app is not installed or
    its AppConfig.ready() did not register it."""


class HookConflict(RuntimeError):
    """A second, different provider for a one-provider hook."""


class Hook(Generic[P, R]):
    def __init__(self, name: str, doc: str, *, provided_by: str, many: bool = False):
        self.name = name
        self.__doc__ = doc
        self.provided_by = provided_by  # the app expected to register (for the error)
        self.many = many
        self._functions: list[Callable[P, R]] = []

    def __repr__(self) -> str:
        kind = "listeners" if self.many else "provider"
        return f"<Hook {self.name} ({kind}: {len(self._functions)})>"

    def register(self, function: Callable[P, R]) -> Callable[P, R]:
        if function in self._functions:
            return function
        if not self.many and self._functions:
            raise HookConflict(
                f"hook {self.name!r} already has a provider ({self._functions[0]!r}); "
                "it takes one: unregister the other or use override() in tests"
            )
        self._functions.append(function)
        return function

    def unregister(self, function: Callable[P, R]) -> None:
        if function in self._functions:
            self._functions.remove(function)

    @property
    def provided(self) -> bool:
        return bool(self._functions)

    def call(self, *args: P.args, **kwargs: P.kwargs):
        """The provider's answer (one-provider hook), or the list of every listener's
        result (listeners)."""
        if self.many:
            return [function(*args, **kwargs) for function in list(self._functions)]
        if not self._functions:
            raise HookNotProvided(
                f"nobody provides hook {self.name!r}: add {self.provided_by!r} to "
                f"INSTALLED_APPS (its AppConfig.ready() registers "
                f"tenancy.hooks.{self.name.replace('.', '_')})"
            )
        return self._functions[0](*args, **kwargs)

    @contextmanager
    def override(self, function: Callable[P, R]) -> Iterator[None]:
        """Tests: `function` is the only provider (or listener) inside the block."""
        saved = self._functions
        self._functions = [function]
        try:
            yield
        finally:
            self._functions = saved


# --- tenancy --------------------------------------------------------------------------

tenant_created: Hook[[object], None] = Hook(
    "tenant_created",
    """(tenant) -> None, for each listener. A Tenant row was just inserted; runs inside
    the inserting transaction (post_save), so a listener's rows commit or roll back
    with the tenant. A listener that raises refuses the creation. The security feature
    creates the tenant's key ring here.""",
    provided_by="security_mgr",
    many=True,
)


tenant_event: Hook[[int, str, dict, str], None] = Hook(
    "tenant_event",
    """(tenant_id, event, payload, actor) -> None, for each listener. Something happened
    to a tenant that belongs in its audit log (onboarding, an owner accepting the
    invitation). Called in the tenant's context, inside the caller's transaction; a
    listener that raises refuses the action. The audit log service appends it to the
    tenant's log.""",
    provided_by="audit_mgr",
    many=True,
)

# --- sessions, asked by security (threat detection) ------------------------------------

revoke_user_sessions: Hook[[int, str], int] = Hook(
    "revoke_user_sessions",
    """(user_id, reason) -> number of sessions ended. Ends every live session of the
    user in the tenant in context, in its own transaction (audited, published to every
    process as a revocation). Asked by threat detection (probing).""",
    provided_by="sessions_mgr",
)

require_user_step_up: Hook[[int], int] = Hook(
    "require_user_step_up",
    """(user_id) -> number of sessions changed. Every live session of the user in the
    tenant in context is refused with `step_up_required` until a second factor lifts
    it. Asked by threat detection (probing).""",
    provided_by="sessions_mgr",
)


# --- security, asked by sessions ------------------------------------------------------


@dataclass(frozen=True)
class SecondFactor:
    """The answer of `verify_second_factor`. `outcome`: OK, INVALID (wrong, unknown or
    no authenticator: counted towards the lock-out), LOCKED (too many failures; the
    message says for how long), REPLAYED (a right TOTP code whose time step was already
    used)."""

    outcome: str
    message: str = ""

    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"
    REPLAYED = "replayed"

    @property
    def ok(self) -> bool:
        return self.outcome == self.OK


has_second_factor: Hook[[object], bool] = Hook(
    "has_second_factor",
    """(user) -> bool: the user has a confirmed second factor (authenticator) in the
    tenant in context. Read only.""",
    provided_by="security_mgr",
)

verify_second_factor: Hook[[object, str], SecondFactor] = Hook(
    "verify_second_factor",
    """(user, code) -> SecondFactor. Checks a TOTP code or a one-time backup code of the
    user in the tenant in context. Commits its own bookkeeping (replay guard, failure
    count, used backup code) whatever the caller then does: call it outside the
    caller's transaction.""",
    provided_by="security_mgr",
)

session_anomaly: Hook[[str, str, dict], None] = Hook(
    "session_anomaly",
    """(username, ip, details) -> None, for each listener. A session crossed its
    anomaly threshold and the sessions feature acted (`details`: severity, session,
    score, drivers, action_taken). Runs after the sessions feature's transaction
    committed. Threat detection records it.""",
    provided_by="security_mgr",
    many=True,
)

session_token_refused: Hook[[object, str, int | None], None] = Hook(
    "session_token_refused",
    """(request, reason, claimed_tenant_id) -> None, for each listener. A bearer token
    was refused (`reason`: the refusal code; the tenant it claims, if readable). A
    listener may raise a DRF APIException (e.g. Throttled: the source backs off) that
    becomes the response. Threat detection counts forged tokens here.""",
    provided_by="security_mgr",
    many=True,
)


# --- sealing with the tenant's key, asked by features that cannot import security ------


@dataclass(frozen=True)
class SealedColumn:
    """A binary column that a feature seals through `seal_tenant_value` (not one of the
    security feature's encrypted fields, which it finds by itself). `aad(row)` is the
    associated data the row's value was sealed with; `is_sealed(row)` says whether this
    row's value is sealed at all (a column may hold plain values too). Announced through
    `sealed_columns` so that the security feature's rewrap moves these values to a new
    key version like its own fields'."""

    model: type
    attname: str
    aad: Callable[[object], bytes]
    is_sealed: Callable[[object], bool]


seal_tenant_value: Hook[[bytes, bytes], bytes] = Hook(
    "seal_tenant_value",
    """(plaintext, associated_data) -> envelope (bytes). Seals `plaintext` with the
    current key of the tenant in context (AES-256-GCM; the envelope names the key
    version), bound to `associated_data` (say the tenant, model, field and row), so the
    envelope opens nowhere else. Read only: never creates a key ring. Raises a
    `kms.exceptions.CryptoError` subclass with a `code` (no ring, shredded ring). The
    security feature provides it; metadata records marked sensitive use it.""",
    provided_by="security_mgr",
)

open_tenant_value: Hook[[bytes, bytes], bytes] = Hook(
    "open_tenant_value",
    """(envelope, associated_data) -> plaintext. Opens what `seal_tenant_value` sealed in
    the tenant in context, under whichever key version the envelope names. Read only.
    Raises a `kms.exceptions.CryptoError` subclass with a `code`
    (`decryption_failed`: altered, or other associated data; `key_shredded`,
    `key_version_trimmed`, ...).""",
    provided_by="security_mgr",
)

sealed_columns: Hook[[], list] = Hook(
    "sealed_columns",
    """() -> list[SealedColumn], for each listener. The columns a feature seals through
    `seal_tenant_value`; the security feature's rewrap job re-seals their values under
    the target key version (so older versions can be trimmed). Read only.""",
    provided_by="metadata_mgr",
    many=True,
)

cache_quota: Hook[[int, str], int | None] = Hook(
    "cache_quota",
    """(tenant id, "keys" | "bytes") -> the tenant's cache quota, or None for the
    settings' default (CACHE_TENANT_QUOTA_KEYS / _BYTES). Optional: the cache manager
    asks only when a provider (the lifecycle manager's tier policies) registered.
    Called on cache writes: answer from memory, never a query per call.""",
    provided_by="lifecycle_mgr",
)

applied_tuning: Hook[[int, str], object] = Hook(
    "applied_tuning",
    """(tenant id, knob) -> the value the optimiser applied for that tenant, or None when
    none is applied. Knobs: "cache_ttl_seconds" (the tenant's default cache TTL, read by
    cache_mgr) and "rate_limit_per_minute" (the tenant's API request limit, read by
    tenancy.quotas). Called on hot paths (cache writes, every API request): answer from
    memory, never a query per call. Optional: without a provider nothing is tuned. The
    performance manager's optimiser provides it (perf_mgr/tuning.py).""",
    provided_by="perf_mgr",
)

check_quota: Hook[[int, str, int, object], None] = Hook(
    "check_quota",
    """(tenant_id, quota, adding, usage) -> None; raises tenancy.quotas.QuotaExceeded.
    Asked through `tenancy.quotas.enforce()` before the work that `quota` limits
    ("users", "sessions", "metadata_records": caps; "metric_samples_per_day",
    "api_requests_per_minute": rates). `usage` is None for a rate (the provider counts)
    or a function returning what exists now for a cap, to call only if a limit applies.
    Called on hot paths (every API request): answer from memory and the cache, never a
    query per call beyond `usage`. Optional: without a provider nothing is limited. The
    lifecycle manager's tier policies provide it.""",
    provided_by="lifecycle_mgr",
)

# --- erasure (GDPR Art. 17), asked by the lifecycle manager ------------------------------

shred_tenant_keys: Hook[[int | None, str], dict] = Hook(
    "shred_tenant_keys",
    """(user_id, actor) -> {"keys": [{"subject", "version", "algorithm", "wrapped_sha256"}],
    "receipts": [audit entry seq, ...]}. Crypto-shreds the key material of the tenant in
    context: every ring (user_id None) or the rings whose subject names that user
    (`<field>=<user_id>`). Each shredding is audited with its own signed receipt. Owns its
    transactions; call it outside the caller's. Idempotent: shredded rings are skipped.""",
    provided_by="security_mgr",
)

erase_tenant_files: Hook[[], dict] = Hook(
    "erase_tenant_files",
    """() -> {what: number of files deleted}, for each listener. Deletes the files a
    service keeps outside the database for the tenant in context (the AI registry's
    artifact files), before the erasure purges the rows that name them (once the rows
    are gone, nothing says which files were the tenant's). Idempotent: a file already
    gone is skipped, so a retried erasure finishes the job.""",
    provided_by="ai_mgr",
    many=True,
)

drop_search_index: Hook[[int | None], int] = Hook(
    "drop_search_index",
    """(user_id) -> number of search documents removed. Removes the search index of the
    tenant in context (user_id None: all of it, the stored documents, the pending outbox
    and every in-process index and fitted encoder), or what it indexed for one user.
    Owns its transaction.""",
    provided_by="metadata_mgr",
)


# --- what features show on the console's dashboards (perf_mgr draws them) ---------------


@dataclass(frozen=True)
class ActivityCount:
    """One daily count a feature owns, for the tenant in context: `days` maps each day
    (a `datetime.date`, UTC) of the asked window to its count (days without any may be
    left out); `total` is the figure as it is now (say, live records). `label` is for
    people (a lazy translation)."""

    key: str  # "active_users", "sessions", "records", ...
    label: object
    days: dict
    total: int | None = None


@dataclass(frozen=True)
class Deployment:
    """Something put into service for the tenant in context: a key version, a model
    (`kind`: "key", "model"), its `version` ("v3"), when, and its state for people."""

    kind: str
    name: str
    version: str
    at: object  # an aware datetime
    state: str = ""
    current: bool = False


tenant_activity: Hook[[object, object], list] = Hook(
    "tenant_activity",
    """(since, until) -> list[ActivityCount], for each listener: the daily activity the
    feature owns for the tenant in context between two aware datetimes (sessions: active
    users and sessions started; metadata: records written). Read only, aggregate
    queries; never raises for a tenant without data (empty `days`).""",
    provided_by="sessions_mgr",
    many=True,
)

recent_deployments: Hook[[object], list] = Hook(
    "recent_deployments",
    """(since) -> list[Deployment], for each listener: what the feature put into service
    for the tenant in context since `since` (the security feature: its key ring's
    versions; the AI manager: model deployments), plus the one in service now. Read only.""",
    provided_by="security_mgr",
    many=True,
)


# --- databases ------------------------------------------------------------------------

database_connect: Hook[[str, Callable[[], object]], object] = Hook(
    "database_connect",
    """(alias, connect) -> the new DB-API connection. The PostgreSQL backend asks it to
    open (or take from the pool) a connection for `alias`; `connect()` does the real
    work. The provider may refuse without calling `connect` (a circuit breaker that is
    open raises a django.db.OperationalError naming the alias) and records the outcome.
    Optional: without a provider the backend connects directly. The connection manager
    provides it.""",
    provided_by="connection_mgr",
)

tenant_database: Hook[[int], str | None] = Hook(
    "tenant_database",
    """(tenant_id) -> the database alias holding the tenant's scoped rows, or None when
    the tenant is pooled (the default database). Answers from the process's map (no
    query per call, refreshed every CONNECTION_ROUTING_TTL) and registers the alias
    first if needed. Optional: without a provider every tenant is pooled. Asked through
    `tenancy.db` (alias_for, atomic, on_commit, connection_for). The connection
    manager provides it.""",
    provided_by="connection_mgr",
)

seal_platform_secret: Hook[[bytes, bytes], bytes] = Hook(
    "seal_platform_secret",
    """(plaintext, associated_data) -> envelope (bytes). Seals a platform secret (not a
    tenant's: say a dedicated database's connection URL, with its password) under the
    master key provider (AES-256-GCM), bound to `associated_data`, so it is stored
    sealed in a platform table the runtime role can read. Read only. The security
    feature provides it (kms's master key).""",
    provided_by="security_mgr",
)

open_platform_secret: Hook[[bytes, bytes], bytes] = Hook(
    "open_platform_secret",
    """(envelope, associated_data) -> plaintext: opens what `seal_platform_secret`
    sealed. Raises a `kms.exceptions.CryptoError` subclass (`DecryptionFailed`: altered,
    another binding, or another master key).""",
    provided_by="security_mgr",
)
