"""The engine in one process (tasks eager, commit callbacks run): sequence, parallel and
conditional steps, retries, compensation in reverse order, manual strategy, signals,
timers, cancel, timeouts, and idempotent re-delivery."""

import datetime as dt

import pytest
from django.utils import timezone

from tenancy.context import tenant_context
from tests.scoping_app.models import Folder
from workflow_mgr import actions, engine
from workflow_mgr.definitions import DefinitionError
from workflow_mgr.models import RunState, StepRun, StepState, WorkflowRun
from workflow_mgr.tests.helpers import short, steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_now(tenant_alpha, django_capture_on_commit_callbacks):
    """Start a run and let every message it sends run at once (eager tasks)."""

    def start(definition, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            run = actions.create_run(definition, **kwargs)
        run.refresh_from_db()
        return run

    with tenant_context(tenant_alpha):
        yield start


def _flush(django_capture_on_commit_callbacks, change, *args, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        result = change(*args, **kwargs)
    result.refresh_from_db()
    return result


def test_steps_run_in_sequence_once_each(run_now):
    run = run_now("t.three", input={"order": 7}, actor="alice")
    assert run.state == RunState.SUCCEEDED and run.requested_by == "alice"
    assert short(run) == ["a", "b", "c"]
    found = steps(run)
    assert {s.state for s in found.values()} == {StepState.SUCCEEDED}
    assert found[("action", "b")].idempotency_key == f"{run.pk}:action:b"
    assert found[("action", "b")].output == {"made": "b", "ok": True}
    assert all(s.attempts == 1 and s.lease_expires_at is None for s in found.values())


def test_a_redelivered_step_or_advance_changes_nothing(run_now):
    run = run_now("t.three")
    for step in StepRun.objects.filter(run=run):
        assert engine.run_step(step.pk).attempts == 1  # finished: not claimed again
    assert engine.advance(run.pk).state == RunState.SUCCEEDED
    assert short(run) == ["a", "b", "c"] and StepRun.objects.filter(run=run).count() == 3


def test_a_permanent_failure_compensates_completed_steps_in_reverse(run_now):
    run = run_now("t.fails_third")
    assert run.state == RunState.COMPENSATED
    assert "the card was declined" in run.error
    # c failed three times (its retry policy; each failed attempt's writes rolled back
    # with it), then b and a were undone (their folders removed), b first.
    assert short(run) == ["undo-b", "undo-a"]
    found = steps(run)
    assert found[("action", "c")].state == StepState.FAILED
    assert found[("action", "c")].attempts == 3
    assert found[("compensation", "b")].finished_at <= found[("compensation", "a")].finished_at
    assert ("compensation", "c") not in found  # a failed step did nothing to undo


def test_non_retryable_errors_fail_at_once(run_now):
    run = run_now("t.non_retryable")
    assert run.state == RunState.COMPENSATED
    assert steps(run)[("action", "b")].attempts == 1
    assert short(run) == ["undo-a"]


def test_retries_until_the_step_succeeds(run_now):
    run = run_now("t.flaky")
    assert run.state == RunState.SUCCEEDED
    step = steps(run)[("action", "a")]
    assert step.attempts == 3 and step.output == {"attempts": 3}
    assert short(run) == ["a"]


def test_manual_strategy_waits_for_an_operator(run_now, django_capture_on_commit_callbacks):
    run = run_now("t.fails_third_manual")
    assert run.state == RunState.NEEDS_OPERATOR and short(run) == ["a", "b"]
    with pytest.raises(actions.WorkflowConflict):
        actions.compensate_run(WorkflowRun.objects.create(name="x").pk)
    run = _flush(django_capture_on_commit_callbacks, actions.compensate_run, run.pk, actor="op")
    assert run.state == RunState.COMPENSATED and short(run) == ["undo-b", "undo-a"]


def test_retry_after_a_manual_stop_runs_the_failed_step_again(
    run_now, django_capture_on_commit_callbacks
):
    run = run_now("t.fails_third_manual")
    run = _flush(django_capture_on_commit_callbacks, actions.retry_run, run.pk, actor="op")
    # t.fail always fails: three more attempts, then it waits for the operator again.
    assert run.state == RunState.NEEDS_OPERATOR
    assert steps(run)[("action", "c")].attempts == 3
    with pytest.raises(actions.WorkflowConflict, match="failed step"):
        actions.retry_run(run_now("t.three").pk)


def test_signal_completes_the_waiting_step(run_now, django_capture_on_commit_callbacks):
    run = run_now("t.approval")
    assert run.state == RunState.WAITING and short(run) == ["reserve"]
    with pytest.raises(actions.WorkflowConflict, match="waits for"):
        actions.signal_run(run.pk, "shipped")
    run = _flush(
        django_capture_on_commit_callbacks, actions.signal_run, run.pk, "approved", {"by": "bob"}
    )
    assert run.state == RunState.SUCCEEDED and short(run) == ["reserve", "ship"]
    assert steps(run)[("action", "approve")].output == {"by": "bob"}
    with pytest.raises(actions.WorkflowConflict):
        actions.signal_run(run.pk, "approved")


def test_cancel_while_waiting_compensates_and_ends_cancelled(
    run_now, django_capture_on_commit_callbacks
):
    run = run_now("t.approval")
    run = _flush(django_capture_on_commit_callbacks, actions.cancel_run, run.pk, actor="carol")
    assert run.state == RunState.CANCELLED and short(run) == ["undo-reserve"]
    assert steps(run)[("action", "approve")].state == StepState.CANCELLED
    with pytest.raises(actions.WorkflowConflict, match="already cancelled"):
        actions.cancel_run(run.pk)


def test_parallel_branches_and_conditions(run_now):
    run = run_now("t.parallel")
    assert run.state == RunState.SUCCEEDED
    assert short(run)[0] == "start" and short(run)[-1] == "join"
    assert sorted(short(run)[1:3]) == ["left", "right"]
    skipped = run_now("t.parallel", input={"ok": False})
    assert skipped.state == RunState.SUCCEEDED
    assert short(skipped) == ["start", "left", "join"]
    assert steps(skipped)[("action", "right")].state == StepState.SKIPPED


def test_a_durable_timer_wakes_through_the_sweep(run_now, django_capture_on_commit_callbacks):
    run = run_now("t.timer")
    assert run.state == RunState.WAITING
    pause = steps(run)[("action", "pause")]
    assert pause.wake_at > timezone.now() + dt.timedelta(minutes=59)
    engine.wake(pause.pk)  # early: nothing happens
    assert StepRun.objects.get(pk=pause.pk).state == StepState.WAITING
    StepRun.objects.filter(pk=pause.pk).update(wake_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.sweep()["woken"] == [pause.pk]
    run.refresh_from_db()
    assert run.state == RunState.SUCCEEDED


def test_a_step_past_its_timeout_fails(run_now):
    run = run_now("t.timeout")
    assert run.state == RunState.COMPENSATED  # nothing to undo: it was read-only
    assert "timeout of 0.2 s" in steps(run)[("action", "slow")].error


def test_the_sweep_requeues_a_step_whose_worker_died(run_now, django_capture_on_commit_callbacks):
    run = run_now("t.three")
    step = steps(run)[("action", "c")]
    # As a worker that claimed it and died: running, lease expired, nothing committed.
    Folder.objects.filter(name=f"wf-{run.pk}-c").delete()
    StepRun.objects.filter(pk=step.pk).update(
        state=StepState.RUNNING,
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
        output={},
        finished_at=None,
    )
    WorkflowRun.objects.filter(pk=run.pk).update(state=RunState.RUNNING, finished_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.sweep()["requeued"] == [step.pk]
    step.refresh_from_db()
    assert step.state == StepState.SUCCEEDED and step.attempts == 2
    assert "stopped answering" in step.error  # the last lost attempt, kept
    run.refresh_from_db()
    assert run.state == RunState.SUCCEEDED and short(run) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "definition,reason",
    [
        ({"name": "x", "steps": []}, "non-empty list of steps"),
        ({"name": "x", "steps": [{"name": "a", "action": "nope"}]}, "unknown action 'nope'"),
        ({"name": "x", "steps": [{"name": "a", "action": "t.make"}]}, "has no compensation"),
        (
            {"name": "x", "steps": [
                {"name": "a", "action": "t.make", "read_only": True, "after": ["b"]},
                {"name": "b", "action": "t.make", "read_only": True, "after": ["a"]},
            ]},
            "cycle",
        ),
        ("name: x\nsteps: [{name: a, signal: go, sleep: 3}]", "exactly one of"),
        ("{not json", "not valid JSON"),
        ("no.such.workflow", "no workflow"),
    ],
)  # fmt: skip
def test_invalid_definitions_are_refused_with_reasons(tenant_alpha, definition, reason):
    with tenant_context(tenant_alpha):
        with pytest.raises(DefinitionError, match=reason):
            actions.create_run(definition)
        assert not WorkflowRun.objects.exists()


def test_a_yaml_definition_runs(run_now):
    text = "name: yaml\nsteps:\n  - {name: one, action: t.make, compensation: t.unmake}\n"
    run = run_now(text)
    assert run.state == RunState.SUCCEEDED and short(run) == ["one"]
    assert run.definition["steps"][0]["retry"]["max_attempts"] == 3
