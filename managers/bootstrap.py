"""Setting Django up for the seed's Python API, and its two module-level checks."""

from __future__ import annotations

import os


def setup_django() -> None:
    import django
    from django.apps import apps

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not apps.ready:
        django.setup()


def initialize_managers() -> dict:
    """Set Django up and check that the database is migrated. Raises RuntimeError
    naming the pending migrations otherwise."""
    setup_django()
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        pending = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan)
        raise RuntimeError(f"database is not migrated; run `manage.py migrate` ({pending})")
    from tenancy.models import scoped_models

    return {
        "database": connection.vendor,
        "migrated": True,
        "scoped_models": [m._meta.label for m in scoped_models()],
    }


def validate_module_integrity() -> dict:
    """The isolation checks of `manage.py check_isolation`, as a structured report."""
    setup_django()
    from django.core import checks

    from tenancy import rls_inspect

    report = rls_inspect.inspect().as_dict()
    errors = [str(e) for e in checks.run_checks() if e.level >= checks.ERROR]
    report["system_check_errors"] = errors
    report["ok"] = report["ok"] and not errors
    return report
