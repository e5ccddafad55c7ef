"""Attacks on workflow_mgr as a second tenant would try them: a Celery message carrying
the first tenant's step or run id, run in the second tenant's context; `compensate` on
another tenant's run (the same 404 as a missing one); idempotency keys that collide
across tenants; the sweep running every tenant's steps in that tenant's context; and a
dedicated tenant's runs (their transactions and row locks on its own database)."""

from __future__ import annotations

import pytest

from tenancy.context import tenant_context
from tests.personas import api_as
from workflow_mgr import actions, engine, tasks
from workflow_mgr.models import RunState, StepRun, StepState, WorkflowRun
from workflow_mgr.tests import flows  # noqa: F401  (registers the t.* workflows)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workflows"


def _waiting_run(tenant):
    """A run that will stop at its `approval` step (waiting for a signal)."""
    with tenant_context(tenant):
        return actions.create_run("t.approval")


def _steps(tenant, run) -> dict:
    with tenant_context(tenant):
        return {s.pk: (s.state, s.attempts) for s in StepRun.objects.filter(run=run)}


def test_celery_messages_with_another_tenants_ids_do_nothing(
    tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _waiting_run(tenant_alpha)
    before = _steps(tenant_alpha, run)
    assert len(before) == 2
    with tenant_context(tenant_beta):
        for step_id in before:
            assert tasks.run_step_task.apply(args=(step_id,)).get()["state"] is None
            assert tasks.wake_step_task.apply(args=(step_id,)).get() == {"step": step_id}
        assert tasks.advance_run_task.apply(args=(run.pk,)).get()["state"] is None
        assert engine.claim(next(iter(before))) is None
    assert _steps(tenant_alpha, run) == before
    with tenant_context(tenant_alpha):
        assert WorkflowRun.objects.get(pk=run.pk).state == RunState.WAITING


def test_compensate_another_tenants_run_is_the_missing_404(
    alpha_owner, beta_owner, tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _waiting_run(tenant_alpha)
    beta = api_as(beta_owner, tenant_beta)
    foreign = beta.post(f"{BASE}/{run.pk}/compensate/", format="json")
    missing = beta.post(f"{BASE}/987654321/compensate/", format="json")
    malformed = beta.post(f"{BASE}/not-a-number/compensate/", format="json")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert malformed.status_code == 404


def test_identical_idempotency_keys_in_two_tenants_do_not_collide(
    tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _waiting_run(tenant_alpha)
    with tenant_context(tenant_alpha):
        step = StepRun.objects.filter(run=run).order_by("id").first()
        key = step.idempotency_key
    with tenant_context(tenant_beta):
        # beta's run of its own, then a step forged with alpha's key: beta's own row.
        mine = _waiting_run(tenant_beta)
        forged, created = StepRun.objects.get_or_create(
            idempotency_key=key,
            defaults={"run": mine, "name": step.name, "phase": step.phase, "position": 0},
        )
        assert created and forged.pk != step.pk and forged.run_id == mine.pk
    with tenant_context(tenant_alpha):
        assert StepRun.objects.get(pk=step.pk).run_id == run.pk


def test_the_sweep_runs_each_tenants_steps_in_its_own_context(
    tenant_alpha, tenant_beta, django_capture_on_commit_callbacks, monkeypatch
):
    seen = []

    def record():
        from tenancy.context import get_current_tenant_id

        seen.append((get_current_tenant_id(), WorkflowRun.objects.count()))
        return 0

    with django_capture_on_commit_callbacks(execute=True):
        _waiting_run(tenant_alpha)
    monkeypatch.setattr(actions, "sweep", record)
    tasks.sweep_workflows_task.apply().get()
    counts = dict(seen)
    assert counts[tenant_alpha.pk] == 1 and counts[tenant_beta.pk] == 0


# A dedicated tenant's workflows run, and their transactions, row locks and commit hooks
# are taken where the runs live: on the default database, since runs stay there
# (`WorkflowRun.stays_on_default`: a tenant move is itself a run, and must not move the
# rows that drive it), still tenant-scoped under row-level security.
from connection_mgr.tests.test_dedicated import beta_dedicated, dedicated_db  # noqa: E402, F401


def test_a_dedicated_tenant_runs_its_workflows(
    beta_dedicated,  # noqa: F811
    tenant_beta,
    django_capture_on_commit_callbacks,
):
    with tenant_context(tenant_beta), django_capture_on_commit_callbacks(execute=True):
        run = actions.create_run("t.three")
    with tenant_context(tenant_beta):
        run = WorkflowRun.objects.get(pk=run.pk)
        assert run._state.db == "default" != beta_dedicated
        states = set(StepRun.objects.filter(run=run).values_list("state", flat=True))
        assert run.state == RunState.SUCCEEDED, (run.state, run.error, states)
        assert states == {StepState.SUCCEEDED}
