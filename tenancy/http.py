"""What the core reads from an HTTP request itself (not from its tenant or user)."""

from __future__ import annotations


def client_ip(request) -> str | None:
    """The client's address, or None when unknown (no request, or a server that gives
    none, such as a Unix socket). The one source for session binding, anomaly scoring
    and threat throttling.

    It is `REMOTE_ADDR` only: `X-Forwarded-For` is not trusted, because any client can
    send it, and a spoofed address would let an attacker escape its throttling budget
    or take a session bound to someone else's network. Behind a reverse proxy, have the
    WSGI/ASGI server set `REMOTE_ADDR` from the proxy's header (gunicorn
    `--forwarded-allow-ips`, uvicorn `--proxy-headers`), where the proxy is known."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
