"""The production preflight: refuse to start, naming each setting, when the environment
lacks a required secret or holds a malformed value (issue 18).

Configuration comes only from the environment. `config/settings.py` runs `enforce()`
first thing under MANAGERS_CONFIG_LEVEL=production, so every process (gunicorn, Celery
worker and beat, manage.py) refuses alike; `python -m config.preflight` prints the same
findings without a traceback and exits 2 (`make serve` and the container run it first).
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

# The development default of settings.py and Django's startproject prefix.
_INSECURE_KEY_PREFIXES = ("dev-only-insecure", "django-insecure")
MIN_SECRET_KEY_LENGTH = 50

# Numbers and switches read by settings.py whose parse error would otherwise be an
# anonymous ValueError: checked here so the message names the variable.
INTEGER_SETTINGS = (
    "POSTGRES_CONNECT_TIMEOUT",
    "POSTGRES_POOL_MIN_SIZE",
    "POSTGRES_POOL_SIZE",
    "SECURE_HSTS_SECONDS",
    "WEB_CONCURRENCY",
    "PORT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_TIMEOUT",
)
FLOAT_SETTINGS = (
    "POSTGRES_POOL_TIMEOUT",
    "REDIS_SOCKET_TIMEOUT",
    "READINESS_AUDIT_LAG_MAX_S",
)
BOOLEAN_SETTINGS = ("DJANGO_DEBUG", "SECURE_SSL_REDIRECT", "DATABASE_POOL")
_BOOLEANS = {"1", "0", "true", "false", "yes", "no", "on", "off", "y", "n", "t", "f"}


def _master_key_problem(environ: Mapping[str, str]) -> str | None:
    if environ.get("SECURITY_MASTER_KEY_PROVIDER") or environ.get("SECURITY_MASTER_KEY_FILE"):
        return None  # a KMS plugin or a mounted file: checked when first read
    text = environ.get("SECURITY_MASTER_KEY", "").strip()
    if not text:
        return (
            "SECURITY_MASTER_KEY is missing (or set SECURITY_MASTER_KEY_FILE or "
            "SECURITY_MASTER_KEY_PROVIDER)"
        )
    padded = text + "=" * (-len(text) % 4)
    strict = lambda t: base64.b64decode(t, validate=True)  # noqa: E731
    for decode in (strict, base64.urlsafe_b64decode):
        try:
            if len(decode(padded)) == 32:
                return None
        except (binascii.Error, ValueError):
            continue
    return "SECURITY_MASTER_KEY must be 32 random bytes in base64"


def _url_problem(environ: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = environ.get(name, "").strip()
    if not value:
        return f"{name} is missing"
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        return f"{name} must be a {' or '.join(s + '://' for s in schemes)} URL"
    return None


def problems(environ: Mapping[str, str]) -> list[str]:
    """Every missing or malformed production setting, one sentence each, naming it."""
    found: list[str] = []
    key = environ.get("DJANGO_SECRET_KEY", "")
    if not key:
        found.append("DJANGO_SECRET_KEY is missing")
    elif len(key) < MIN_SECRET_KEY_LENGTH or key.startswith(_INSECURE_KEY_PREFIXES):
        found.append(
            f"DJANGO_SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters (not the development default)"
        )
    hosts = [h.strip() for h in environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if not hosts:
        found.append("DJANGO_ALLOWED_HOSTS is missing (the host names the site answers to)")
    elif "*" in hosts:
        found.append("DJANGO_ALLOWED_HOSTS must name the hosts, not '*'")
    # Isolation is enforced by PostgreSQL's row-level security: no SQLite in production.
    for problem in (
        _url_problem(environ, "DATABASE_URL", ("postgres", "postgresql", "pgsql")),
        # Several processes share sessions, caches and invalidations through Redis.
        _url_problem(environ, "REDIS_URL", ("redis", "rediss", "unix")),
        _master_key_problem(environ),
    ):
        if problem:
            found.append(problem)
    broker = environ.get("CELERY_BROKER_URL", "")
    if broker.startswith("filesystem://"):
        found.append(
            "CELERY_BROKER_URL must be a real broker (redis:// or amqp://), not filesystem://"
        )
    for name in INTEGER_SETTINGS:
        value = environ.get(name, "").strip()
        if value and not (value.isdigit() and int(value) >= 0):
            found.append(f"{name} must be a whole number, not {value!r}")
    for name in FLOAT_SETTINGS:
        value = environ.get(name, "").strip()
        if value:
            try:
                if float(value) < 0:
                    raise ValueError
            except ValueError:
                found.append(f"{name} must be a number of seconds, not {value!r}")
    for name in BOOLEAN_SETTINGS:
        value = environ.get(name, "").strip()
        if value and value.lower() not in _BOOLEANS:
            found.append(f"{name} must be true or false, not {value!r}")
    if environ.get("DJANGO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}:
        found.append("DJANGO_DEBUG must be off in production")
    return found


class ProductionSettingsError(Exception):
    """Raised by `enforce()`; settings.py turns it into ImproperlyConfigured."""


def message(found: list[str]) -> str:
    lines = "\n".join(f"  - {p}" for p in found)
    return (
        "Refusing to start with MANAGERS_CONFIG_LEVEL=production: "
        f"{len(found)} setting(s) missing or malformed:\n{lines}\n"
        "See docs/deployment.md#environment."
    )


def enforce(environ: Mapping[str, str]) -> None:
    found = problems(environ)
    if found:
        raise ProductionSettingsError(message(found))


def main() -> int:
    found = problems(os.environ)
    if found:
        print(message(found), file=sys.stderr)
        return 2
    print("preflight: production settings complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
