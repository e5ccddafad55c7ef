"""Faults with a real Celery worker in its own process (not eager), on PostgreSQL and
Redis (issue 16):

- the worker is SIGKILLed in the middle of a step: the sweep requeues the step once its
  lease expired, a new worker redoes it, and no step's effect happens twice;
- the database connection drops (pg_terminate_backend) during a compensation: the
  compensation is retried and the run still ends compensated;
- a step fails for good: the completed steps are compensated in reverse order;
- the broker restarts empty (SIGKILL, no persistence) while a step runs and while a run
  is started: no run is lost, and no step's effect happens twice.

Kills are made deterministic with a row lock: the test locks the run's gate row, so the
worker waits inside the step's transaction; that is where it dies."""

import os
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tenancy.context import tenant_context
from tenancy.db.proof import claim_on
from tests.celery_process import start_worker_process, tasks_to_broker
from tests.committed import committed_tenant, needs_owner
from tests.markers import postgres_only, redis_only
from tests.outages import PrivateRedis
from tests.scoping_app.models import Folder
from workflow_mgr import actions
from workflow_mgr.models import RunState, StepRun, StepState, WorkflowRun
from workflow_mgr.tasks import sweep_workflows_task
from workflow_mgr.tests.helpers import short, steps

pytestmark = [
    postgres_only("the worker process must see the test's committed rows"),
    redis_only("the worker process needs a broker another process can reach"),
    needs_owner,
]

LEASE = 3  # seconds: short, so the test waits little for the sweep
WORKER_ENV = {"JOBS_LEASE_SECONDS": LEASE, "DIM_EXTRA_APPS": "workflow_mgr.tests.apps.FlowsConfig"}


def _wait_for(condition, what: str, worker=None, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    log = worker.log()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def _run(tenant, pk) -> WorkflowRun:
    with tenant_context(tenant):
        return WorkflowRun.objects.get(pk=pk)


def _step(tenant, run_pk, phase, name) -> StepRun | None:
    with tenant_context(tenant):
        return StepRun.objects.filter(run_id=run_pk, phase=phase, name=name).first()


def _blocked_by(locker_pid) -> int | None:
    """The backend waiting for the locker's row lock (the worker's), if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            [locker_pid],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class Gate:
    """Another session holding the lock on the tenant's gate row."""

    def __init__(self, tenant):
        with tenant_context(tenant):
            Folder.objects.create(name="wf-gate")
        self.conn = psycopg.connect(os.environ["DATABASE_URL"])
        claim_on(self.conn, str(tenant.pk))
        self.conn.execute("SELECT 1 FROM scoping_app_folder WHERE name = 'wf-gate' FOR UPDATE")
        self.pid = self.conn.info.backend_pid

    def open(self):
        self.conn.rollback()

    def close(self):
        self.conn.close()


def test_a_step_whose_worker_is_killed_resumes_and_applies_once(django_db_setup, django_db_blocker):
    with committed_tenant(django_db_blocker, "wf-kill") as tenant:
        gate = Gate(tenant)
        try:
            with tasks_to_broker(settings.REDIS_URL) as queue:
                with start_worker_process(queue, **WORKER_ENV) as first:
                    with tenant_context(tenant):
                        run = actions.create_run("t.gated", actor="alice")

                    def waiting_in_b():
                        b = _step(tenant, run.pk, "action", "b")
                        return b and b.state == StepState.RUNNING and _blocked_by(gate.pid)

                    _wait_for(waiting_in_b, "the worker to wait inside step b", first)
                    first.kill()
                gate.open()  # the dead worker's transaction rolled back with its session
                with tenant_context(tenant):
                    assert short(run) == ["a"]  # b's folder was never committed
                assert _run(tenant, run.pk).state == RunState.RUNNING
                with start_worker_process(queue, **WORKER_ENV) as second:
                    # Beat's sweep, called here until the lease has expired.
                    _wait_for(
                        lambda: sweep_workflows_task().get(tenant.slug, {}).get("requeued"),
                        "the sweep to requeue step b",
                        second,
                    )
                    _wait_for(
                        lambda: _run(tenant, run.pk).state == RunState.SUCCEEDED,
                        "the second worker to finish the run",
                        second,
                    )
        finally:
            gate.close()
        with tenant_context(tenant):
            assert short(run) == ["a", "b"]  # each step's effect exactly once
            found = steps(run)
            assert found[("action", "a")].attempts == 1
            b = found[("action", "b")]
            assert b.attempts == 2 and "stopped answering" in b.error
            assert b.worker and b.state == StepState.SUCCEEDED
            assert len(found) == 2


def test_a_dropped_connection_during_compensation_is_retried(django_db_setup, django_db_blocker):
    with committed_tenant(django_db_blocker, "wf-drop") as tenant:
        gate = Gate(tenant)
        try:
            with tasks_to_broker(settings.REDIS_URL) as queue:
                with start_worker_process(queue, **WORKER_ENV) as worker:
                    with tenant_context(tenant):
                        run = actions.create_run("t.gated_undo")
                    # c fails for good; b's compensation (the first, in reverse) waits.
                    backend = _wait_for(
                        lambda: _blocked_by(gate.pid), "the compensation to wait", worker
                    )
                    comp = _step(tenant, run.pk, "compensation", "b")
                    assert comp.state == StepState.RUNNING and comp.attempts == 1
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
                    _wait_for(
                        lambda: _step(tenant, run.pk, "compensation", "b").attempts == 2,
                        "the compensation's second attempt",
                        worker,
                    )
                    gate.open()
                    _wait_for(lambda: _run(tenant, run.pk).finished, "the run to end", worker, 120)
        finally:
            gate.close()
        done = _run(tenant, run.pk)
        assert done.state == RunState.COMPENSATED, done.error
        with tenant_context(tenant):
            # b's compensation records its undo (and leaves b's folder); reverse order, once.
            assert short(run) == ["b", "undo-b", "undo-a"]
            comp = steps(run)[("compensation", "b")]
            assert comp.state == StepState.SUCCEEDED and comp.attempts == 2
            assert "terminat" in comp.error.lower() or "connection" in comp.error.lower()


@pytest.mark.parametrize("strategy", ["automatic"])
def test_a_permanent_failure_compensates_in_reverse_through_the_worker(
    django_db_setup, django_db_blocker, strategy
):
    with committed_tenant(django_db_blocker, "wf-fail") as tenant:
        with tasks_to_broker(settings.REDIS_URL) as queue:
            with start_worker_process(queue, **WORKER_ENV) as worker:
                with tenant_context(tenant):
                    run = actions.create_run("t.fails_third", compensation_strategy=strategy)
                _wait_for(lambda: _run(tenant, run.pk).finished, "the run to end", worker)
        done = _run(tenant, run.pk)
        assert done.state == RunState.COMPENSATED and "declined" in done.error
        with tenant_context(tenant):
            assert short(run) == ["undo-b", "undo-a"]
            found = steps(run)
            assert found[("action", "c")].attempts == 3
            assert (
                found[("compensation", "b")].finished_at <= found[("compensation", "a")].started_at
            )


def test_a_broker_restart_loses_no_run(django_db_setup, django_db_blocker):
    broker = PrivateRedis().start()  # the shared Redis is never stopped: a broker of our own
    try:
        with committed_tenant(django_db_blocker, "wf-broker") as tenant:
            gate = Gate(tenant)
            try:
                with tasks_to_broker(broker.url) as queue:
                    env = {**WORKER_ENV, "CELERY_BROKER_URL": broker.url}
                    with start_worker_process(queue, **env) as worker:
                        with tenant_context(tenant):
                            gated = actions.create_run("t.gated")
                        _wait_for(
                            lambda: _blocked_by(gate.pid), "the worker to wait inside b", worker
                        )
                        broker.kill()
                        with tenant_context(tenant):
                            # Started while the broker is down: the run is committed and
                            # its first message is lost; the caller still gets the run.
                            started_down = actions.create_run("t.three")
                        assert _run(tenant, started_down.pk).state == RunState.RUNNING
                        broker.start()  # empty: every message it held is gone
                        gate.open()

                        def both_finished():
                            sweep_workflows_task()  # beat's sweep resends lost messages
                            return all(_run(tenant, r.pk).finished for r in (gated, started_down))

                        _wait_for(both_finished, "both runs to finish", worker, 180)
            finally:
                gate.close()
            with tenant_context(tenant):
                for run, names in ((gated, ["a", "b"]), (started_down, ["a", "b", "c"])):
                    done = _run(tenant, run.pk)
                    assert done.state == RunState.SUCCEEDED, done.error
                    assert short(run) == names  # each step's effect exactly once
                    assert all(step.state == StepState.SUCCEEDED for step in steps(run).values())
    finally:
        broker.kill()
