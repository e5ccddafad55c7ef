"""The process-local view of session state that lets validation skip the database.

What a process must know to refuse a token it cannot tell apart by its MAC alone:
- `revoked`: sessions revoked (sid -> when the entry can be forgotten: its expiry);
- `min_generation`: sessions refreshed (tokens of older generations are dead);
- `tenant_cutoff`: "revoke every session of the tenant": tokens issued before (ms)
  die;
- `live`: what validation needs of a session (user, binding, idle timeout), loaded
  from the database once per process and session.

Every change is applied locally first, then published on the Redis channel
`dim:sessions:events`; a listener thread applies what other processes publish, and
resyncs from the database every RESYNC_SECONDS so that a missed message cannot keep a
revoked token alive. State only ever grows towards "more revoked", so applying a message
twice or a resync racing a message is harmless.

The view is trusted only while the listener is subscribed and has resynced since (re)
subscribing (`healthy`). Otherwise (Redis down, no Redis at all) validation checks
each token against the database: slower, still correct; logged and counted. The
subscribe/reconnect/liveness loop is `tenancy.pubsub.Listener`, shared with the
key-ring cache of the security manager.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from sessions_mgr import messages
from sessions_mgr.messages import SessionMessage
from tenancy import resettable
from tenancy.pubsub import Listener, channel, receive, redis_client

log = logging.getLogger("dim.sessions")
CHANNEL = channel("dim:sessions:events")


@dataclass(slots=True)
class LiveEntry:
    tenant_id: int
    user_id: int
    user: object  # the user instance, so DRF authentication needs no query either
    level: str
    session_type: str
    ip: str | None
    user_agent: str
    idle_seconds: int
    binding: str
    last_seen: float  # wall clock, seconds
    last_written: float
    step_up_required: bool = False
    requests: int = 0
    failures: int = 0
    ips: set = field(default_factory=set)
    agents: set = field(default_factory=set)
    first_request: float = 0.0
    # SHA-256 of the signed (quantum-level) token the entry was loaded with: its
    # signature is not under the MAC, so validation compares the whole token.
    signed_digest: str = ""


@dataclass
class Counters:
    fast_validations: int = 0
    db_validations: int = 0  # validations that went to the database (degraded mode)
    messages_applied: int = 0
    resyncs: int = 0
    redis_errors: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class SessionView:
    def __init__(self):
        self.revoked: dict[str, float] = {}
        self.min_generation: dict[str, int] = {}
        self.tenant_cutoff: dict[int, float] = {}
        self.live: dict[str, LiveEntry] = {}
        self.healthy = False
        self.counters = Counters()
        self.lock = threading.Lock()
        self._degraded_logged_at = 0.0

    # --- applying changes (idempotent, monotonic) ---------------------------------------

    def apply(self, message: SessionMessage) -> None:
        """Apply one message (see `sessions_mgr.messages` for what each kind means)."""
        kind, subject, value = message.kind, message.subject, message.value
        if kind == messages.REVOKED:
            self.revoked[subject] = value
            self.live.pop(subject, None)
        elif kind == messages.REFRESHED:
            if value > self.min_generation.get(subject, 0):
                self.min_generation[subject] = value
        elif kind == messages.TENANT_CUTOFF:
            if value > self.tenant_cutoff.get(subject, 0.0):
                self.tenant_cutoff[subject] = value
        elif kind == messages.DROP:
            self.live.pop(subject, None)
        elif kind == messages.KEYS_CHANGED:
            from sessions_mgr import keys

            keys.forget_state(subject)
        elif kind == messages.POLICY_CHANGED:
            from sessions_mgr import policy

            policy.forget(subject)
            # Cached entries carry the policy's timeouts and binding: reload them.
            # list(): one C-level copy, so request threads adding entries meanwhile
            # cannot break the iteration ("dict changed size").
            for sid in [s for s, e in list(self.live.items()) if e.tenant_id == subject]:
                self.live.pop(sid, None)
        self.counters.messages_applied += 1

    def apply_wire(self, text: str) -> bool:
        """Apply a message received from another process; False (logged, nothing
        applied) for a malformed one."""
        message = receive(text, SessionMessage.from_wire, malformed="session_event_malformed")
        if message is None:
            return False
        self.apply(message)
        return True

    def is_dead(self, session_id: str, generation: int, tenant_id: int, issued_at: int) -> bool:
        return (
            session_id in self.revoked
            or generation < self.min_generation.get(session_id, 0)
            or issued_at < self.tenant_cutoff.get(tenant_id, 0.0)
        )

    def resync(self) -> None:
        """Merge the database's revocations into the view (platform-wide read)."""
        from django.db.models import Q
        from django.utils import timezone

        from sessions_mgr.models import Session, TenantSessionCutoff
        from tenancy.context import platform_access

        now = timezone.now()
        with platform_access("session view resync (revocations of every tenant)"):
            # The partial index's own predicate, so the planner can use it.
            rows = Session.objects.filter(
                Q(revoked_at__isnull=False) | Q(token_generation__gt=0),
                absolute_expires_at__gt=now,
            )
            for sid, revoked_at, gen, expires in rows.values_list(
                "id", "revoked_at", "token_generation", "absolute_expires_at"
            ):
                if revoked_at is not None:
                    self.revoked[sid] = expires.timestamp()
                    self.live.pop(sid, None)
                if gen > self.min_generation.get(sid, 0):
                    self.min_generation[sid] = gen
            for tid, cutoff in TenantSessionCutoff.objects.values_list(
                "tenant_id", "revoked_before_ms"
            ):
                if cutoff > self.tenant_cutoff.get(tid, 0.0):
                    self.tenant_cutoff[tid] = cutoff
        self.prune(now.timestamp())
        self.counters.resyncs += 1

    def prune(self, now: float) -> None:
        # A revoked session past its absolute expiry is refused by the expiry check.
        for sid in [s for s, exp in list(self.revoked.items()) if exp < now]:
            self.revoked.pop(sid, None)
            self.min_generation.pop(sid, None)

    def note_degraded(self) -> None:
        self.counters.db_validations += 1
        now = time.monotonic()
        if now - self._degraded_logged_at > 60:
            self._degraded_logged_at = now
            log.warning(
                "session_validation_degraded",
                extra={
                    "event": "session_validation_degraded",
                    "detail": "no live revocation feed (Redis down or not configured): "
                    "validating against the database",
                    "db_validations": self.counters.db_validations,
                },
            )


_view = SessionView()


def get_view() -> SessionView:
    return _view


# --- publishing ---------------------------------------------------------------------------


def _client():
    """The process's client of REDIS_URL (a changed setting, in tests, gets its own;
    a `RedisCluster` when REDIS_CLUSTER_ENABLED), or None without Redis."""
    url = getattr(settings, "REDIS_URL", "")
    return redis_client(url) if url else None


def publish(message: SessionMessage) -> None:
    """Apply locally now, then tell the other processes. Redis being down does not fail
    the write: the durable row is what resync and the database fallback read."""
    _view.apply(message)
    client = _client()
    if client is None:
        return
    try:
        client.publish(CHANNEL, message.to_wire())
    except Exception as exc:  # noqa: BLE001  (any Redis failure: degrade, never fail)
        _view.counters.redis_errors += 1
        _view.healthy = False
        log.error("session_publish_failed", extra={"error": repr(exc)})


# --- the listener -------------------------------------------------------------------------


def resync_seconds() -> float:
    return float(getattr(settings, "SESSION_RESYNC_SECONDS", 30.0))


def _on_subscribed() -> None:
    # Cached entries may predate messages missed while unsubscribed (step-up demands).
    _view.live.clear()
    _view.resync()
    _view.healthy = True


def _on_tick() -> None:
    from django.db import close_old_connections

    _view.resync()
    close_old_connections()


def _on_error(exc: Exception) -> None:
    from django.db import close_old_connections

    _view.healthy = False
    _view.counters.redis_errors += 1
    log.error("session_view_listener_error", extra={"error": repr(exc)})
    close_old_connections()


_listener = Listener(
    CHANNEL,
    name="dim-session-view",
    client=lambda: _client(),  # late-bound: tests swap the client
    on_message=_view.apply_wire,
    on_subscribed=_on_subscribed,
    on_error=_on_error,
    on_tick=_on_tick,
    tick_seconds=resync_seconds,
)


def ensure_listener() -> bool:
    """Start the listener thread once per process (when Redis is configured and the
    listener enabled). Returns whether the view may be trusted right now."""
    if not _listener.running and getattr(settings, "SESSION_FASTPATH_LISTENER", True):
        if not _listener.start():
            return False
    return _view.healthy


def stop_listener() -> None:
    """Stop the listener thread (the bench, between rows); the view is then untrusted."""
    _listener.stop()
    _view.healthy = False


@resettable.register
def reset_view() -> SessionView:
    """Forget everything (tests: tenant and session ids repeat across test databases)."""
    _view.__init__()
    return _view
