"""Writes on workflow runs: create, cancel, signal, retry, compensate, and the sweep's
rescue of steps whose worker died. Each owns its transaction; messages to the workers
leave after the commit (workflow_mgr.dispatch)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from jobs_mgr.actions import max_attempts as lost_worker_limit
from jobs_mgr.engine import lease_duration
from workflow_mgr import definitions, dispatch, engine
from workflow_mgr.models import RunState, StepRun, StepState, Strategy, WorkflowRun
from workflow_mgr.signals import workflow_event

MAX_SIGNAL_NAME = 80


class WorkflowConflict(Exception):
    """The run's state does not allow this: the API's 409, a message on the console."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _locked(run_id: int) -> WorkflowRun:
    """The caller's tenant's run, locked; WorkflowRun.DoesNotExist for any other id
    (another tenant's run answers exactly like a missing one)."""
    return WorkflowRun.objects.select_for_update().get(pk=run_id)


def _event(run, event: str, actor: str) -> None:
    workflow_event.send(WorkflowRun, run=run, event=event, actor=actor, step=None)


def create_run(
    definition, *, input: dict | None = None, compensation_strategy: str | None = None,
    actor: str = "", platform: bool = False,
) -> WorkflowRun:  # fmt: skip
    """Validate the definition (a registered name, a mapping, JSON or YAML) and start a
    run of it in the current tenant. DefinitionError lists every problem; nothing is
    written then. A definition that uses platform actions (tenant moves, lifecycle
    transitions, erasure: they act on the tenant their input names) is refused unless
    the caller is the platform's own code and says so (`platform=True`): the workflows
    API never does, so a tenant's member cannot run them on anyone."""
    spec = definitions.parse(definition)
    registered = definitions._workflows.get(spec.get("name")) if isinstance(spec, dict) else None
    strategy = compensation_strategy or (registered.strategy if registered else Strategy.AUTOMATIC)
    validated = definitions.validate(spec, strategy)
    reserved = definitions.platform_actions_in(validated)
    if reserved and not platform:
        raise definitions.DefinitionError(
            [f"action {name!r} is run by the platform only" for name in reserved]
        )
    if input is not None and not isinstance(input, dict):
        raise definitions.DefinitionError(["input must be a mapping"])
    with transaction.atomic(using=dispatch.database()):
        run = WorkflowRun.objects.create(
            name=validated["name"],
            definition=validated,
            compensation_strategy=strategy,
            input=input or {},
            requested_by=actor[:150],
        )
        _event(run, "created", actor)
        engine.advance(run.pk)
    run.refresh_from_db()
    return run


def cancel_run(run_id: int, *, actor: str = "") -> WorkflowRun:
    """Stop a run: steps not started never start, running ones finish, then the
    completed steps are compensated (also under the manual strategy) and the run ends
    cancelled. 409 for a finished run; asking again changes nothing."""
    with transaction.atomic(using=dispatch.database()):
        run = _locked(run_id)
        if run.finished:
            raise WorkflowConflict("run_finished", f"the run is already {run.state}")
        if not run.cancel_requested:
            run.cancel_requested = True
            fields = ["cancel_requested", "updated_at"]
            if run.state == RunState.NEEDS_OPERATOR:
                run.state = RunState.COMPENSATING
                fields.append("state")
            run.save(update_fields=fields)
            _event(run, "cancel_requested", actor)
    return engine.advance(run_id)


def signal_run(
    run_id: int, name: str, payload: dict | None = None, *, actor: str = ""
) -> WorkflowRun:
    """Deliver an external event: the step waiting for `name` completes with `payload`
    as its output, or the signal is kept until that step is reached."""
    if not isinstance(name, str) or not name or len(name) > MAX_SIGNAL_NAME:
        raise definitions.DefinitionError(
            [f"a signal has a name of 1 to {MAX_SIGNAL_NAME} characters"]
        )
    if payload is not None and not isinstance(payload, dict):
        raise definitions.DefinitionError(["a signal's payload is a mapping"])
    with transaction.atomic(using=dispatch.database()):
        run = _locked(run_id)
        if run.finished or run.cancel_requested:
            raise WorkflowConflict("run_finished", f"the run is {run.state}: it takes no signals")
        if name not in {s.get("signal") for s in run.definition.get("steps", [])}:
            raise WorkflowConflict("unknown_signal", f"no step of this run waits for {name!r}")
        waiting = (
            StepRun.objects.select_for_update()
            .filter(run=run, state=StepState.WAITING, wait_signal=name)
            .first()
        )
        if waiting is not None:
            waiting.state, waiting.output = StepState.SUCCEEDED, payload or {}
            waiting.finished_at = timezone.now()
            waiting.save(update_fields=["state", "output", "finished_at", "updated_at"])
        elif StepRun.objects.filter(run=run, wait_signal=name).exists():
            raise WorkflowConflict("signal_consumed", f"the signal {name!r} was already received")
        else:
            run.signals = {**run.signals, name: payload or {}}
            run.save(update_fields=["signals", "updated_at"])
        _event(run, "signalled", actor)
    return engine.advance(run_id)


def retry_run(run_id: int, *, actor: str = "") -> WorkflowRun:
    """After a step (or a compensation) failed for good: try it again from a first
    attempt. Only a run that waits for an operator, or whose compensation failed."""
    with transaction.atomic(using=dispatch.database()):
        run = _locked(run_id)
        failed = list(StepRun.objects.select_for_update().filter(run=run, state=StepState.FAILED))
        if run.state not in (RunState.NEEDS_OPERATOR, RunState.FAILED) or not failed:
            raise WorkflowConflict(
                "not_retryable", "only a run stopped by a failed step can be retried"
            )
        compensating = any(s.phase == "compensation" for s in failed)
        for step in failed:
            step.state, step.attempts, step.finished_at, step.wake_at = (
                StepState.PENDING, 0, None, None,
            )  # fmt: skip
            step.save(update_fields=["state", "attempts", "finished_at", "wake_at", "updated_at"])
            dispatch.send_after_commit(dispatch.RUN_STEP_TASK, step.pk)
        # Steps the failure stopped before they started are made again by advance().
        StepRun.objects.filter(run=run, state=StepState.CANCELLED, phase="action").delete()
        run.state = RunState.COMPENSATING if compensating else RunState.RUNNING
        run.error, run.finished_at = "", None
        run.save(update_fields=["state", "error", "finished_at", "updated_at"])
        _event(run, "retried", actor)
    return engine.advance(run_id)


def compensate_run(run_id: int, *, actor: str = "") -> WorkflowRun:
    """Under the manual strategy, after a failure: undo the completed steps now."""
    with transaction.atomic(using=dispatch.database()):
        run = _locked(run_id)
        if run.state != RunState.NEEDS_OPERATOR:
            raise WorkflowConflict(
                "not_compensable", "only a run that waits for an operator can be compensated"
            )
        run.state = RunState.COMPENSATING
        run.save(update_fields=["state", "updated_at"])
        _event(run, "compensating", actor)
    return engine.advance(run_id)


def sweep() -> dict:
    """In the current tenant: steps whose worker died (lease expired, row not locked)
    go back to the queue, due timers wake, lost messages are sent again, and runs that
    stopped moving are advanced. Returns what it did, by kind, as lists of ids."""
    now = timezone.now()
    stale_before = now - lease_duration()
    done = {"requeued": [], "failed": [], "resent": [], "woken": [], "advanced": []}
    with transaction.atomic(using=dispatch.database()):
        # skip_locked: a step whose row is locked is inside its action right now: alive.
        for step in StepRun.objects.select_for_update(skip_locked=True).filter(
            state=StepState.RUNNING, lease_expires_at__lt=now
        ):
            expired = step.lease_expires_at.isoformat()
            step.lease_expires_at = None
            if step.attempts >= lost_worker_limit():
                step.state, step.finished_at = StepState.FAILED, now
                step.error = f"gave up: its worker was lost {step.attempts} times"
                dispatch.send_after_commit(dispatch.ADVANCE_RUN_TASK, step.run_id)
                done["failed"].append(step.pk)
            else:
                step.state = StepState.PENDING
                step.error = (
                    f"worker {step.worker} stopped answering (lease expired at {expired}); requeued"
                )
                dispatch.send_after_commit(dispatch.RUN_STEP_TASK, step.pk)
                done["requeued"].append(step.pk)
            step.save(
                update_fields=["state", "finished_at", "error", "lease_expires_at", "updated_at"]
            )
        lost = StepRun.objects.select_for_update(skip_locked=True).filter(
            state=StepState.PENDING, updated_at__lt=stale_before
        )
        for step in lost:
            if step.wake_at and step.wake_at > now:
                continue
            step.save(update_fields=["updated_at"])  # once per lease, not every sweep
            dispatch.send_after_commit(dispatch.RUN_STEP_TASK, step.pk)
            done["resent"].append(step.pk)
        for step_id in StepRun.objects.filter(
            state=StepState.WAITING, wake_at__lte=now
        ).values_list("pk", flat=True):
            dispatch.send_after_commit(dispatch.WAKE_STEP_TASK, step_id)
            done["woken"].append(step_id)
        for run_id in WorkflowRun.objects.filter(
            state__in=[RunState.RUNNING, RunState.WAITING, RunState.COMPENSATING],
            updated_at__lt=stale_before,
        ).values_list("pk", flat=True):
            dispatch.send_after_commit(dispatch.ADVANCE_RUN_TASK, run_id)
            done["advanced"].append(run_id)
    return {k: v for k, v in done.items() if v}
