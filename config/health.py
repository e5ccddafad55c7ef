"""Liveness and readiness probes for load balancers and Kubernetes (issue 18).

- `GET /healthz` (liveness): the process answers. Touches no dependency, so a database
  outage never gets every web pod restarted at once.
- `GET /readyz` (readiness): may this process take traffic? It reports the database,
  Redis, Celery's broker, the Celery workers (the queue sampler's heartbeat, as the
  Operations dashboard shows it), the platform audit log's sequencer lag and pending
  migrations; 503 naming the failing dependencies while any of READINESS_REQUIRED
  fails. Workers and the audit lag are reported but only fail readiness when listed
  there: a web pod taken out of rotation does not bring a worker back.

`ProbeMiddleware` answers both before any other middleware: a kubelet probes the pod's
IP over plain HTTP, which ALLOWED_HOSTS and the HTTPS redirect would otherwise refuse,
and a probe must not count as a request in the metrics or need a session.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import JsonResponse

from tenancy.health import RETRY_AFTER_SECONDS, dependency_states

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
# Once a process has seen every migration applied, its code cannot grow new ones.
_migrations_applied = False


def _broker_state() -> str:
    """`up` when Celery's broker accepts a connection within a second."""
    from config.celery import app

    url = str(app.conf.broker_url or "")
    if url.startswith(("filesystem://", "memory://")):
        return "up"  # a local directory (the embedded default) or the tests' in-memory one
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=1.0)
    except Exception:  # noqa: BLE001  (any failure means "down" here)
        return "down"
    return "up"


def _workers_state() -> dict:
    """The queue sampler runs on a worker every PERFORMANCE_MONITORING_INTERVAL: its last
    sample is the workers' heartbeat (no broadcast to the workers from a probe)."""
    from perf_mgr.collectors import last_queue_depths

    interval = float(settings.PERFORMANCE_MONITORING_INTERVAL)
    depths = last_queue_depths()
    if not depths or "at" not in depths:
        return {"state": "unknown", "age_s": None}
    age = max(time.time() - float(depths["at"]), 0.0)
    return {"state": "up" if age <= 3 * interval else "stale", "age_s": round(age, 1)}


def _audit_lag() -> dict:
    """The platform log's oldest unnumbered entry: a sequencer that stopped shows here
    first (the per-tenant logs need a tenant context each; the console shows them)."""
    from audit_mgr.logs import platform_log
    from audit_mgr.sequencer import pending_status

    status = pending_status(platform_log())
    late = status["oldest_age_s"] > float(settings.READINESS_AUDIT_LAG_MAX_S)
    return {"state": "late" if late else "up", **status}


def unapplied_migrations() -> list[str]:
    """`app.migration` names not applied to the default database (read-only)."""
    global _migrations_applied
    if _migrations_applied:
        return []
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    _migrations_applied = not names
    return names


def readiness() -> dict:
    """What `/readyz` answers, as data: `ready`, the failing checks, and every check."""
    base = dependency_states()
    checks: dict[str, dict] = {
        "database": {"state": base["dependencies"]["database"]},
        "redis": {"state": base["dependencies"]["redis"]},
    }
    database_up = checks["database"]["state"] == "up"
    checks["broker"] = {"state": _broker_state()}
    checks["workers"] = _workers_state()
    if database_up:
        try:
            checks["audit_lag"] = _audit_lag()
        except Exception:  # noqa: BLE001  (an unreadable log is a failing check)
            checks["audit_lag"] = {"state": "down"}
        try:
            pending = unapplied_migrations()
        except Exception:  # noqa: BLE001
            checks["migrations"] = {"state": "down"}
        else:
            checks["migrations"] = {"state": "pending" if pending else "up", "pending": pending}
    else:
        checks["audit_lag"] = checks["migrations"] = {"state": "unknown"}
    required = set(settings.READINESS_REQUIRED)
    ok_states = {"up", "not_configured"}
    failing = sorted(
        name
        for name, check in checks.items()
        if name in required and check["state"] not in ok_states
    )
    return {"ready": not failing, "failing": failing, "checks": checks}


def _probe_response(payload: dict, status: int) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    response["Cache-Control"] = "no-store"
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ProbeMiddleware:
    """First in MIDDLEWARE: answers `/healthz` and `/readyz` (GET or HEAD) itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info.rstrip("/")
        if request.method not in ("GET", "HEAD") or path not in (LIVENESS_PATH, READINESS_PATH):
            return self.get_response(request)
        if path == LIVENESS_PATH:
            return _probe_response({"status": "alive"}, 200)
        state = readiness()
        failing = (f"{name} {state['checks'][name]['state']}" for name in state["failing"])
        message = "ready" if state["ready"] else "not ready: " + ", ".join(failing)
        return _probe_response({"status": message, **state}, 200 if state["ready"] else 503)
