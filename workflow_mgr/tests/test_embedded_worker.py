"""The embedded default's path: tasks go through kombu's filesystem broker (as with no
Redis configured) to a real Celery worker (a thread of this process: a real consumer,
real messages, not eager), on whichever database the pass uses (SQLite embedded)."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError

from config.celery import app
from tenancy.context import tenant_context
from tenancy.models import Tenant
from tests.celery_worker import app_configured
from tests.markers import embedded_only
from workflow_mgr import actions
from workflow_mgr.models import RunState, WorkflowRun
from workflow_mgr.tests.helpers import short, steps


@pytest.fixture
def filesystem_worker(tmp_path):
    folders = {name: tmp_path / name for name in ("out", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    changes = {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folders["out"]),
            "data_folder_out": str(folders["out"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
            "store_processed": False,
            "polling_interval": 0.1,  # kombu's default second per poll, times every step
        },
        "result_backend": "cache+memory://",
        "task_default_queue": f"dim-fs-{uuid.uuid4().hex[:8]}",
    }
    with app_configured(changes):
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield app


def _until_finished(tenant, run_id, timeout=240.0) -> WorkflowRun:
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            with tenant_context(tenant):
                run = WorkflowRun.objects.get(pk=run_id)
        except OperationalError:
            continue  # SQLite's shared in-memory test database: the worker writes now
        if run.finished or run.state == RunState.WAITING:
            return run
    raise AssertionError(f"run {run_id} is still {getattr(run, 'state', None)}")


@embedded_only(
    "the embedded default's broker and database "
    "(the PostgreSQL pass kills real worker processes: test_worker_faults.py)"
)
@pytest.mark.django_db(transaction=True)  # committed: the worker thread has its own connection
def test_runs_signals_and_compensation_through_the_filesystem_broker(filesystem_worker):
    tenant = Tenant.objects.create(slug="wf-embedded", name="wf embedded")
    with tenant_context(tenant):
        failing = actions.create_run("t.fails_third")
        waiting = actions.create_run("t.approval")
    assert _until_finished(tenant, failing.pk).state == RunState.COMPENSATED
    assert _until_finished(tenant, waiting.pk).state == RunState.WAITING
    with tenant_context(tenant):
        actions.signal_run(waiting.pk, "approved", {"by": "bob"})
    assert _until_finished(tenant, waiting.pk).state == RunState.SUCCEEDED
    with tenant_context(tenant):
        assert short(failing) == ["undo-b", "undo-a"]
        assert steps(failing)[("action", "c")].attempts == 3
        assert short(waiting) == ["reserve", "ship"]
        assert all(s.worker for s in steps(waiting).values() if s.phase == "action"
                   and s.name != "approve")  # fmt: skip
