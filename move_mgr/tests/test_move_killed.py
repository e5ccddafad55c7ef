"""A move whose worker is SIGKILLed in the middle of the copy (issue 17, "a move is
killed mid-copy"), with a real Celery worker in its own process on PostgreSQL and
Redis: the sweep requeues the copy step once its lease expired, a second worker copies
again (each table's copy replaces the target's rows of the tenant), and the move ends
with every row in the dedicated database exactly once (counts and md5 per table equal
to the source's before the move) and none left in the shared tables.

The kill is made deterministic with a lock: the test holds an ACCESS EXCLUSIVE lock on
the last moved table of the source, so the worker has committed the earlier tables'
copies into the target and waits inside the COPY of that one; that is where it dies."""

from __future__ import annotations

import os
import time

import psycopg
from django.conf import settings
from django.db import connection

from connection_mgr import aliases, moving
from connection_mgr.models import Mode, TenantDatabase
from move_mgr import actions
from move_mgr.tests.test_move_postgres import _remove
from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tenancy.rls_names import ident
from tests.celery_process import start_worker_process, tasks_to_broker
from tests.committed import committed_tenant, needs_owner
from tests.markers import postgres_only, redis_only
from tests.scoping_app.models import Folder
from workflow_mgr.models import RunState, StepRun, StepState, WorkflowRun
from workflow_mgr.tasks import sweep_workflows_task

pytestmark = [
    postgres_only("COPY and a worker process that sees the test's committed rows"),
    redis_only("the worker process needs a broker another process can reach"),
    needs_owner,
]

LEASE = 3  # seconds: short, so the test waits little for the sweep
WORKER_ENV = {"JOBS_LEASE_SECONDS": LEASE, "CONNECTION_ROUTING_TTL": 0}


def _wait_for(condition, what: str, worker=None, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    log = worker.log()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def _blocked_by(locker_pid: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            [locker_pid],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _copy_step(tenant, run_pk) -> StepRun | None:
    with tenant_context(tenant):
        return StepRun.objects.filter(run_id=run_pk, phase="action", name="copy").first()


def _run(tenant, run_pk) -> WorkflowRun:
    with tenant_context(tenant):
        return WorkflowRun.objects.get(pk=run_pk)


def _state(tenant, alias):
    with tenant_context(tenant):
        return moving.checksums(alias, tenant.pk)


def test_move_worker_killed_mid_copy_resumes_without_lost_or_duplicated_rows(
    django_db_setup, django_db_blocker, dedicated_db
):
    url, owner_url = dedicated_db
    last = Folder  # late in the order: the tenant's settings, keys and audit come first
    with committed_tenant(django_db_blocker, "mv-kill") as tenant:
        alias = f"tenant_{tenant.pk}"
        try:
            with tenant_context(tenant):
                for i in range(30):
                    TenantSetting.objects.create(key=f"k{i}", value={"i": i})
                    Folder.objects.create(name=f"folder {i}")
            before = _state(tenant, "default")
            assert before[last._meta.db_table]["rows"] == 30
            # The gate: the source's folders, locked by another session.
            gate = psycopg.connect(os.environ["DATABASE_OWNER_URL"])
            try:
                gate.execute(f"LOCK TABLE {ident(last._meta.db_table)} IN ACCESS EXCLUSIVE MODE")
                with tasks_to_broker(settings.REDIS_URL) as queue:
                    with start_worker_process(queue, **WORKER_ENV) as first:
                        run = actions.do_start_move(
                            tenant, "dedicated", url=url, owner_url=owner_url, actor="test"
                        )

                        def copying_at_the_gate():
                            step = _copy_step(tenant, run.pk)
                            running = step and step.state == StepState.RUNNING
                            return running and _blocked_by(gate.info.backend_pid)

                        _wait_for(copying_at_the_gate, "the copy to wait at the gate", first)
                        first.kill()
                    gate.rollback()  # the dead worker's sessions rolled back with it
                    aliases.register(alias, url)
                    partial = _state(tenant, alias)
                    copied_before_kill = sum(v["rows"] for v in partial.values())
                    assert copied_before_kill > 0  # killed mid-copy: some tables arrived
                    assert partial[last._meta.db_table]["rows"] == 0
                    assert _run(tenant, run.pk).state == RunState.RUNNING
                    with start_worker_process(queue, **WORKER_ENV) as second:
                        _wait_for(
                            lambda: sweep_workflows_task().get(tenant.slug, {}).get("requeued"),
                            "the sweep to requeue the copy",
                            second,
                        )
                        _wait_for(
                            lambda: (
                                _run(tenant, run.pk).state
                                in (RunState.SUCCEEDED, RunState.FAILED, RunState.COMPENSATED)
                            ),
                            "the second worker to end the move",
                            second,
                        )
            finally:
                gate.close()
            ended = _run(tenant, run.pk)
            with tenant_context(tenant):
                steps = {s.name: s for s in StepRun.objects.filter(run=ended, phase="action")}
            assert ended.state == RunState.SUCCEEDED, {n: s.error for n, s in steps.items()}
            assert steps["copy"].attempts == 2 and "stopped answering" in steps["copy"].error
            assert TenantDatabase.objects.get(tenant=tenant).mode == Mode.DEDICATED
            # Every row exactly once: the same counts and md5 per table as before.
            assert _state(tenant, alias) == before
            assert all(v["rows"] == 0 for v in _state(tenant, "default").values())  # purged
        finally:
            for name in (alias, f"{alias}_owner", "default_owner"):
                aliases.unregister(name)
            aliases.reset()
            _remove(tenant)
