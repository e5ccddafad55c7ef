"""Root test configuration.

On PostgreSQL the tests must run as the runtime role (not a superuser, not the tables'
owner, not BYPASSRLS), or RLS tests prove nothing. The runtime role cannot create a
database or own tables, so instead of pytest-django's test-database creation the schema
is migrated once per session *as the owner* (DATABASE_OWNER_URL) in a subprocess, and
the tests then use that database through the runtime role, each in a rolled-back
transaction.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# No per-example deadline: the tests assert behaviour, never time, and a loaded CI machine
# would turn hypothesis's 200 ms default into flaky failures.
hypothesis_settings.register_profile("dim", deadline=None)
hypothesis_settings.load_profile("dim")

ROOT = Path(__file__).resolve().parent
USING_POSTGRES = bool(os.environ.get("DATABASE_URL"))
pytest_plugins = [
    "tests.personas",
    "tests.celery_worker",
    "tests.browser.fixtures",
    "tests.dedicated",
    "tests.sharding",
]


def migrate_as_owner() -> None:
    owner_url = os.environ.get("DATABASE_OWNER_URL")
    if not owner_url:
        raise RuntimeError(
            "DATABASE_URL is set but DATABASE_OWNER_URL is not: migrations must run as the "
            "tables' owner, tests as the runtime role (see scripts/services.py)"
        )
    env = {
        **os.environ,
        "DATABASE_URL": owner_url,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


if USING_POSTGRES:

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_blocker):
        migrate_as_owner()
        yield


def pytest_report_header(config):
    from django.conf import settings
    from django.db import connection

    db = connection.vendor
    if db == "postgresql":
        db += f" as {connection.settings_dict.get('USER')} (runtime role)"
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return [f"isolation backends: database={db}; cache={cache}"]
