"""The load of the `security.flood` row (rows_security_flood.py), kept apart so that a
test can drive it against a small live server: forged bearer tokens from one address,
interleaved with a legitimate user's requests from another.

Loopback addresses stand in for the two machines: every 127.0.0.0/8 address reaches a
server on 127.0.0.1, and the server sees the client's own as `REMOTE_ADDR`.
"""

from __future__ import annotations

import base64
import http.client
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

ATTACKER_IP, USER_IP = "127.0.0.2", "127.0.0.3"


@dataclass
class FloodResult:
    legit_ns: list[int] = field(default_factory=list)  # the legitimate user's latencies
    legit_statuses: Counter = field(default_factory=Counter)
    forged_statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def legit_refusals(self) -> int:
        return sum(n for status, n in self.legit_statuses.items() if status != 200)

    @property
    def forged_sent(self) -> int:
        return sum(self.forged_statuses.values())


def forged_tokens(tenant_id: int, count: int) -> list[str]:
    """`count` distinct tokens that name the tenant and look real, MAC made up."""
    from sessions_mgr import tokens

    made = []
    for _ in range(count):
        real = tokens.mint(
            tenant_id=tenant_id, session_id=secrets.token_hex(16), generation=0,
            key_version=1, level="standard", issued_at=int(time.time() * 1000),
            expires_at=int(time.time()) + 3600,
        )  # fmt: skip
        made.append(real[:-43] + secrets.token_urlsafe(32)[:42] + "A")
    return made


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _connection(host: str, port: int, source: str) -> http.client.HTTPConnection:
    # http.client reconnects by itself (from the same source) when the server closes.
    return http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))


def _get(conn: http.client.HTTPConnection, path: str, headers: dict) -> int:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.getheader("Connection", "").lower() == "close":
        conn.close()
    return response.status


def legit_requests(
    port: int,
    n: int,
    *,
    token: str,
    sign_in: dict,
    path: str = "/api/v1/tenant/",
    sign_in_every: int = 20,
    host: str = "127.0.0.1",
    source: str = USER_IP,
    result: FloodResult | None = None,
    keep_going=lambda: False,
) -> FloodResult:
    """The legitimate user: `n` requests (more while `keep_going()`), bearer token, and
    every `sign_in_every`-th a password sign-in (Basic auth, `sign_in` headers)."""
    result = result or FloodResult()
    conn = _connection(host, port, source)
    bearer = {"Authorization": f"Bearer {token}"}
    i = 0
    try:
        while i < n or keep_going():
            headers = (
                sign_in if sign_in_every and i % sign_in_every == sign_in_every - 1 else bearer
            )
            start = time.perf_counter_ns()
            status = _get(conn, path, headers)
            result.legit_ns.append(time.perf_counter_ns() - start)
            result.legit_statuses[status] += 1
            i += 1
    finally:
        conn.close()
    return result


def _attack(host, port, tokens, path, result, lock, source):
    conn = _connection(host, port, source)
    seen: Counter = Counter()
    try:
        for token in tokens:
            seen[_get(conn, path, {"Authorization": f"Bearer {token}"})] += 1
    except Exception as exc:  # reported: a broken attacker must not pass as a quiet one
        with lock:
            result.errors.append(f"attacker: {exc!r}")
    finally:
        conn.close()
        with lock:
            result.forged_statuses.update(seen)


def run_flood(
    port: int,
    *,
    forged: list[str],
    token: str,
    sign_in: dict,
    min_legit: int = 100,
    attackers: int = 2,
    path: str = "/api/v1/tenant/",
    host: str = "127.0.0.1",
) -> FloodResult:
    """`attackers` connections from ATTACKER_IP send the forged tokens while the
    legitimate user (USER_IP) keeps making requests, at least `min_legit`, until the
    flood is over."""
    result, lock = FloodResult(), threading.Lock()
    slices = [forged[i::attackers] for i in range(attackers)]
    threads = [
        threading.Thread(
            target=_attack, args=(host, port, chunk, path, result, lock, ATTACKER_IP), daemon=True
        )
        for chunk in slices
    ]
    for thread in threads:
        thread.start()
    legit_requests(
        port,
        min_legit,
        token=token,
        sign_in=sign_in,
        path=path,
        host=host,
        result=result,
        keep_going=lambda: any(t.is_alive() for t in threads),
    )
    for thread in threads:
        thread.join()
    return result
