"""One Redis pub/sub channel per listener thread, for process-local caches that other
processes must be able to invalidate (the session view, the key-ring cache).

A `Listener` subscribes in a daemon thread and calls back:
- `on_subscribed()` right after each (re)subscription: messages published while it was
  not subscribed are lost, so the owner drops or resyncs whatever it caches;
- `on_message(text)` for each message;
- `on_tick()` every `tick_seconds()` (a periodic resync), if given;
- `on_error(exc)` when the connection fails; the thread then reconnects with back-off.

`healthy` is true only between a completed `on_subscribed()` and the next failure: a
cache may trust "no message means no change" only then. A server that stops answering
without closing the connection (no RST) is caught by a liveness PING every
`PING_SECONDS`: no PONG within three periods counts as a lost connection.

Messages are text, `kind|field|field`: `encode` writes them and `decode` reads them
against a layout (the fields each kind carries, with a strict parser each), so that a
channel's message type (`sessions_mgr.messages.SessionMessage`,
`tenancy.membership_cache.MembershipMessage`) is the only place its format is spelled
out, and a malformed or unknown message is refused with `MalformedMessage` (naming the
expected form) instead of being half-applied.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

log = logging.getLogger("dim.pubsub")

PING_SECONDS = 5.0
_LIVENESS = "dim-liveness"

T = TypeVar("T")
_INTEGER = re.compile(r"-?[0-9]+")


class MalformedMessage(ValueError):
    """A pub/sub message that does not parse; its receiver logs it and applies nothing."""


def integer(text: str) -> int:
    """An integer in its plain spelling (no sign but "-", no spaces, no underscores)."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    return int(text)


def finite(text: str) -> float:
    """A finite number (an epoch timestamp, in seconds or milliseconds)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def identifier(text: str) -> str:
    """A non-empty printable id (a session id): never contains the separator."""
    if not text or not text.isprintable():
        raise ValueError(f"{text!r} is not an identifier")
    return text


#: kind -> ((field name, parser), ...)
Layouts = Mapping[str, tuple[tuple[str, Callable[[str], object]], ...]]


def encode(kind: str, *fields: object) -> str:
    return "|".join([kind, *(str(f) for f in fields)])


def decode(text: str, layouts: Layouts, *, channel: str) -> tuple[str, tuple]:
    """(kind, parsed fields) of `text`, or MalformedMessage saying what was expected."""

    def expected(kind: str) -> str:
        return "|".join([kind, *(f"<{name}>" for name, _ in layouts[kind])])

    kind, *raw = text.split("|")
    if kind not in layouts:
        forms = ", ".join(expected(k) for k in layouts)
        raise MalformedMessage(f"{channel}: unknown message {text[:80]!r}; expected {forms}")
    layout = layouts[kind]
    if len(raw) != len(layout):
        raise MalformedMessage(f"{channel}: {text[:80]!r} is not of the form {expected(kind)}")
    values = []
    for (name, parse), value in zip(layout, raw, strict=True):
        try:
            values.append(parse(value))
        except ValueError as exc:
            raise MalformedMessage(
                f"{channel}: bad <{name}> in {text[:80]!r} (form {expected(kind)}): {exc}"
            ) from None
    return kind, tuple(values)


def receive(text: str, parse: Callable[[str], T], *, malformed: str) -> T | None:
    """`parse(text)` (a message type's `from_wire`), or None for a malformed message,
    logged as `malformed` with the reason: a listener never applies half a message."""
    try:
        return parse(text)
    except MalformedMessage as exc:
        log.warning(malformed, extra={"event_message": text[:200], "error": str(exc)})
        return None


_clients: dict[tuple[str, bool], object] = {}
_clients_lock = threading.Lock()


def channel(name: str) -> str:
    """`name` in this deployment's namespace (settings.REDIS_CHANNEL_NAMESPACE): Redis
    pub/sub channels are server-wide, not per database."""
    from django.conf import settings

    namespace = getattr(settings, "REDIS_CHANNEL_NAMESPACE", "")
    return f"{name}@{namespace}" if namespace else name


def redis_client(url: str):
    """One client (and connection pool) per URL, cluster mode and process
    (`tenancy.redis_conn`: a `RedisCluster` when REDIS_CLUSTER_ENABLED)."""
    from tenancy.redis_conn import cluster_enabled, new_client

    cluster = cluster_enabled()
    client = _clients.get((url, cluster))
    if client is None:
        with _clients_lock:
            client = _clients.get((url, cluster))
            if client is None:
                client = _clients[(url, cluster)] = new_client(url, cluster=cluster)
    return client


def configured_client(switch: str | None = None):
    """The client of `REDIS_URL`, or None when Redis is not configured or the setting
    named `switch` (a per-cache on/off, default on) is off."""
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "")
    if not url or (switch and not getattr(settings, switch, True)):
        return None
    return redis_client(url)


class Listener:
    def __init__(
        self,
        channel: str,
        *,
        name: str,
        client: Callable[[], object | None],
        on_message: Callable[[str], None],
        on_subscribed: Callable[[], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_tick: Callable[[], None] | None = None,
        tick_seconds: Callable[[], float] | None = None,
    ):
        self.channel = channel
        self.name = name
        self._client = client
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._on_error = on_error
        self._on_tick = on_tick
        self._tick_seconds = tick_seconds or (lambda: 30.0)
        self.healthy = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> bool:
        """Start the thread once (idempotent). False when no Redis is configured."""
        if self._thread is not None:
            return True
        if self._client() is None:
            return False
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return True

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._stop.set()
                self._thread.join(timeout=5)
                self._thread = None
                self._stop.clear()
        self.healthy = False

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            pubsub = None
            try:
                client = self._client()
                if client is None:
                    raise ConnectionError("Redis is no longer configured")
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                if self._on_subscribed is not None:
                    self._on_subscribed()  # after subscribing: nothing published is lost
                self.healthy = True
                backoff = 0.5
                self._loop(pubsub)
            except Exception as exc:  # noqa: BLE001  (keep the thread alive, degrade)
                self.healthy = False
                log.error(
                    "pubsub_listener_error",
                    extra={"channel": self.channel, "error": repr(exc)},
                )
                if self._on_error is not None:
                    try:
                        self._on_error(exc)
                    except Exception:  # noqa: BLE001, S110
                        pass
                try:
                    if pubsub is not None:
                        pubsub.close()
                except Exception:  # noqa: BLE001, S110
                    pass
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.healthy = False

    def _loop(self, pubsub) -> None:
        now = time.monotonic()
        next_tick = now + self._tick_seconds()
        next_ping, last_pong = now + PING_SECONDS, now
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=0.5)
            if message is not None:
                kind = message.get("type")
                if kind == "message":
                    data = message["data"]
                    self._on_message(data.decode() if isinstance(data, bytes) else str(data))
                elif kind == "pong":
                    last_pong = time.monotonic()
            now = time.monotonic()
            if now >= next_ping:
                if now - last_pong > 3 * PING_SECONDS:
                    raise ConnectionError("no answer to the liveness PING")
                pubsub.ping(_LIVENESS)
                next_ping = now + PING_SECONDS
            if self._on_tick is not None and now >= next_tick:
                self._on_tick()
                next_tick = time.monotonic() + self._tick_seconds()
