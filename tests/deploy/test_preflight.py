"""The production preflight (config/preflight.py): the product refuses to start, naming
each missing or malformed setting."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from config.preflight import problems

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SECRET_KEY": "k" * 64,
    "DJANGO_ALLOWED_HOSTS": "dim.example.com",
    "DATABASE_URL": "postgres://dim_app@db:5432/dim",
    "REDIS_URL": "redis://redis:6379/0",
    "SECURITY_MASTER_KEY": base64.b64encode(bytes(range(32))).decode(),
}


def test_a_complete_environment_passes():
    assert problems(GOOD) == []
    assert problems({**GOOD, "SECURITY_MASTER_KEY": "", "SECURITY_MASTER_KEY_FILE": "/k"}) == []


def test_each_missing_setting_is_named():
    found = problems({})
    for name in (
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
        "SECURITY_MASTER_KEY",
    ):  # fmt: skip
        assert any(p.startswith(f"{name} is missing") for p in found), (name, found)


def test_malformed_values_are_named():
    cases = {
        "DJANGO_SECRET_KEY": "dev-only-insecure-key-change-me-0123456789abcdefghijklmnop",
        "DJANGO_ALLOWED_HOSTS": "*",
        "DATABASE_URL": "sqlite:///db.sqlite3",
        "REDIS_URL": "http://redis:6379",
        "SECURITY_MASTER_KEY": base64.b64encode(b"too short").decode(),
        "CELERY_BROKER_URL": "filesystem://",
        "POSTGRES_POOL_SIZE": "twenty",
        "REDIS_SOCKET_TIMEOUT": "-1",
        "SECURE_SSL_REDIRECT": "maybe",
        "DJANGO_DEBUG": "true",
    }
    for name, value in cases.items():
        found = problems({**GOOD, name: value})
        assert found and all(p.startswith(name) for p in found), (name, found)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**environ, "MANAGERS_CONFIG_LEVEL": "production", **GOOD, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_product_refuses_to_start_naming_the_setting():
    done = _manage("manage.py", "check", DJANGO_SECRET_KEY="", REDIS_URL="nope")
    assert done.returncode != 0
    assert "Refusing to start with MANAGERS_CONFIG_LEVEL=production" in done.stderr
    assert "DJANGO_SECRET_KEY is missing" in done.stderr
    assert "REDIS_URL must be" in done.stderr
    assert "DATABASE_URL" not in done.stderr  # only what is wrong is named


def test_the_preflight_command_exits_2_without_a_traceback():
    done = _manage("-m", "config.preflight", DATABASE_URL="")
    assert done.returncode == 2
    assert "DATABASE_URL is missing" in done.stderr
    assert "Traceback" not in done.stderr
    assert _manage("-m", "config.preflight").returncode == 0
