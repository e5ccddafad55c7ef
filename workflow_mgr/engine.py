"""Running a workflow: `advance` decides what comes next, `run_step` executes one step
run under a lease.

`advance(run_id)` holds the run's row and is idempotent: it starts every step whose
predecessors are done (one step run per idempotency key, `get_or_create`), finishes the
run when all are done, and after a failure (or a cancel) walks the completed steps back,
compensating them one at a time in reverse order of completion. Anyone may call it again
(the API, a worker after a step, the sweep): it never starts anything twice.

`run_step(step_id)` claims the step run (a lease in its own committed transaction, as
`jobs_mgr.engine.claim` does for jobs), then runs the action in one transaction that
holds the step's row: the action's writes and the step's success commit together or not
at all. A worker killed in the middle leaves the row unlocked (its session ends) with a
lease that expires; the sweep gives the step to another worker, which redoes it whole.
While a worker is alive in a step its row stays locked, and the sweep (skip_locked)
leaves it alone however long the step takes.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import signal
import threading
from contextlib import contextmanager

from django.db import connections, transaction
from django.utils import timezone

from jobs_mgr.engine import lease_duration, worker_name
from workflow_mgr import definitions, dispatch
from workflow_mgr.models import (
    Phase,
    RunState,
    StepRun,
    StepState,
    Strategy,
    WorkflowRun,
)
from workflow_mgr.signals import workflow_event

log = logging.getLogger("dim.workflows")
DONE = (StepState.SUCCEEDED, StepState.SKIPPED)
EARLY = dt.timedelta(milliseconds=250)  # a retry's message this early still runs


class StepTimeout(Exception):
    """The step ran past its timeout (retryable like any other error)."""


class StepContext:
    """What an action (or compensation) gets."""

    def __init__(self, run: WorkflowRun, step: StepRun, results: dict, spec: dict):
        self.run_id = run.pk
        self.workflow = run.name
        self.step = step.name
        self.phase = step.phase
        self.input = dict(run.input or {})
        self.results = results  # outputs of the steps that succeeded, by name
        self.output = results.get(step.name, {}) if step.phase == Phase.COMPENSATION else {}
        self.idempotency_key = step.idempotency_key
        self.attempt = step.attempts
        self.timeout = float(spec.get("timeout") or 60.0)
        self._step = step

    def heartbeat(self) -> None:
        """Record that the step is alive (written with the step's outcome; while the
        action runs its locked row is what tells the sweep that it is)."""
        now = timezone.now()
        self._step.heartbeat_at = now
        self._step.lease_expires_at = now + lease_duration()


def key(run_id: int, phase: str, name: str) -> str:
    return f"{run_id}:{phase}:{name}"


def step_spec(run: WorkflowRun, name: str) -> dict:
    for spec in run.definition.get("steps", []):
        if spec["name"] == name:
            return spec
    raise LookupError(f"run {run.pk} has no step {name!r}")


def _event(run, event: str, actor: str = "", step: StepRun | None = None) -> None:
    workflow_event.send(WorkflowRun, run=run, event=event, actor=actor, step=step)


# --- advancing a run --------------------------------------------------------------------


def _new_step(run, spec: dict, phase: str, position: int, **values) -> StepRun:
    step, created = StepRun.objects.get_or_create(
        idempotency_key=key(run.pk, phase, spec["name"]),
        defaults={"run": run, "name": spec["name"], "phase": phase, "position": position,
                  **values},
    )  # fmt: skip
    if created and step.state == StepState.PENDING:
        dispatch.send_after_commit(dispatch.RUN_STEP_TASK, step.pk)
    elif created and step.state == StepState.WAITING and step.wake_at:
        delay = (step.wake_at - timezone.now()).total_seconds()
        dispatch.send_after_commit(dispatch.WAKE_STEP_TASK, step.pk, countdown=max(0.0, delay))
    return step


def _condition_holds(when: dict | None, results: dict) -> bool:
    if not when:
        return True
    output = results.get(when["step"]) or {}
    return output.get(when["key"]) == when.get("equals", True)


def _start_ready(run: WorkflowRun, steps: dict) -> bool:
    """Create the step runs whose predecessors are all done; True if one was made."""
    results = {n: s.output for (p, n), s in steps.items() if p == Phase.ACTION}
    made = False
    for position, spec in enumerate(run.definition["steps"]):
        name = spec["name"]
        if (Phase.ACTION, name) in steps:
            continue
        parents = [steps.get((Phase.ACTION, p)) for p in spec["after"]]
        if not all(p is not None and p.state in DONE for p in parents):
            continue
        now = timezone.now()
        if not _condition_holds(spec.get("when"), results):
            values = {"state": StepState.SKIPPED, "finished_at": now, "started_at": now}
        elif spec.get("signal"):
            values = {"state": StepState.WAITING, "wait_signal": spec["signal"], "started_at": now}
            if spec["signal"] in run.signals:  # it came first: consumed now
                payload = run.signals.pop(spec["signal"])
                values.update(state=StepState.SUCCEEDED, output=payload or {}, finished_at=now)
        elif spec.get("sleep") is not None:
            wake = now + timezone.timedelta(seconds=spec["sleep"])
            values = {"state": StepState.WAITING, "wake_at": wake, "started_at": now}
        else:
            values = {}
        steps[(Phase.ACTION, name)] = _new_step(run, spec, Phase.ACTION, position, **values)
        made = True
    return made


def _compensate(run: WorkflowRun, steps: dict) -> None:
    """One compensation at a time, the last completed step first."""
    completed = sorted(
        (
            s
            for (p, _), s in steps.items()
            if p == Phase.ACTION
            and s.state == StepState.SUCCEEDED
            and step_spec(run, s.name).get("compensation")
        ),
        key=lambda s: (s.finished_at, s.position, s.pk),
        reverse=True,
    )
    for action in completed:
        comp = steps.get((Phase.COMPENSATION, action.name))
        if comp is None:
            _new_step(run, step_spec(run, action.name), Phase.COMPENSATION, action.position)
            return
        if comp.state == StepState.FAILED:
            _finish(run, RunState.FAILED, f"compensation of {action.name!r} failed: {comp.error}")
            return
        if comp.state != StepState.SUCCEEDED:
            return  # still running or queued
    _finish(run, RunState.CANCELLED if run.cancel_requested else RunState.COMPENSATED)


def _finish(run: WorkflowRun, state: str, error: str = "") -> None:
    run.state = state
    run.finished_at = timezone.now()
    fields = ["state", "finished_at", "updated_at"]
    if error:
        run.error = error[:4000]
        fields.append("error")
    run.save(update_fields=fields)
    _event(run, state)


def _set_state(run: WorkflowRun, state: str) -> None:
    changed = run.state != state
    run.state = state
    run.save(update_fields=["state", "updated_at", "signals"])  # touched: the sweep's clock
    if changed and state == RunState.COMPENSATING:
        _event(run, "compensating")


def _stop_unstarted(steps: dict) -> None:
    """On cancel or failure: queued and waiting actions never start (a claim refuses)."""
    now = timezone.now()
    for (phase, _), step in steps.items():
        if phase == Phase.ACTION and step.state in (StepState.PENDING, StepState.WAITING):
            step.state, step.finished_at = StepState.CANCELLED, now
            step.save(update_fields=["state", "finished_at", "updated_at"])


def advance(run_id: int) -> WorkflowRun | None:
    """See the module's docstring. Returns the run as it is afterwards."""
    with transaction.atomic(using=dispatch.database()):
        run = WorkflowRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.finished or run.state == RunState.NEEDS_OPERATOR:
            return run
        steps = {(s.phase, s.name): s for s in StepRun.objects.filter(run=run)}
        if run.state == RunState.COMPENSATING:
            _compensate(run, steps)
            if not run.finished:
                _set_state(run, RunState.COMPENSATING)
            return run
        actions = [s for (p, _), s in steps.items() if p == Phase.ACTION]
        failed = [s for s in actions if s.state == StepState.FAILED]
        if failed or run.cancel_requested:
            _stop_unstarted(steps)
            if any(s.state == StepState.RUNNING for s in actions):
                _set_state(run, run.state)  # the running ones call back when they end
                return run
            if failed and not run.cancel_requested:
                run.error = f"step {failed[0].name!r} failed: {failed[0].error}"[:4000]
                run.save(update_fields=["error", "updated_at"])
                _event(run, "step_failed", step=failed[0])
                if run.compensation_strategy == Strategy.MANUAL:
                    _set_state(run, RunState.NEEDS_OPERATOR)
                    _event(run, "needs_operator")
                    return run
            run.state = RunState.COMPENSATING
            _compensate(run, steps)
            if not run.finished:
                _set_state(run, RunState.COMPENSATING)
            return run
        while _start_ready(run, steps):
            pass  # a skipped step may make its successors ready at once
        if all(
            (Phase.ACTION, n) in steps and steps[(Phase.ACTION, n)].state in DONE
            for n in run.step_names()
        ):
            _finish(run, RunState.SUCCEEDED)
            return run
        open_steps = [s for (p, _), s in steps.items() if p == Phase.ACTION and not s.finished]
        waiting = open_steps and all(s.state == StepState.WAITING for s in open_steps)
        _set_state(run, RunState.WAITING if waiting else RunState.RUNNING)
    return run


# --- running a step ---------------------------------------------------------------------


def claim(step_id: int) -> StepRun | None:
    """Take the step's lease: a pending step that is due, or a running one whose lease
    expired; never one a live worker holds, a finished one or a waiting one."""
    now = timezone.now()
    with transaction.atomic(using=dispatch.database()):
        step = StepRun.objects.select_for_update().filter(pk=step_id).first()
        if step is None or step.finished or step.state == StepState.WAITING:
            return None
        if step.lease_live(now):
            return None
        if step.wake_at and step.wake_at > now + EARLY:
            # Early (a broker's timer fires a little ahead, or a duplicate message):
            # asked again for the rest of the back-off, not left to the sweep.
            remaining = (step.wake_at - now).total_seconds()
            dispatch.send_after_commit(dispatch.RUN_STEP_TASK, step.pk, countdown=remaining)
            return None
        step.state = StepState.RUNNING
        step.attempts += 1
        step.lease_token = secrets.token_hex(16)
        step.worker = worker_name()
        step.heartbeat_at = now
        step.lease_expires_at = now + lease_duration()
        step.started_at = step.started_at or now
        step.wake_at = None
        step.save(
            update_fields=[
                "state", "attempts", "lease_token", "worker", "heartbeat_at",
                "lease_expires_at", "started_at", "wake_at", "updated_at",
            ]
        )  # fmt: skip
    return step


@contextmanager
def _time_limit(seconds: float):
    """SIGALRM in the main thread (a solo or prefork worker runs tasks there); elsewhere
    the database's idle-in-transaction timeout is the backstop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise StepTimeout(f"the step ran past its timeout of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _results(run: WorkflowRun) -> dict:
    return dict(
        StepRun.objects.filter(run=run, phase=Phase.ACTION, state=StepState.SUCCEEDED).values_list(
            "name", "output"
        )
    )


def _execute(step: StepRun, token: str) -> None:
    with transaction.atomic(using=dispatch.database()):
        held = StepRun.objects.select_for_update().filter(pk=step.pk, lease_token=token).first()
        if held is None or held.state != StepState.RUNNING:
            raise LeaseLost
        run = WorkflowRun.objects.get(pk=held.run_id)
        spec = step_spec(run, held.name)
        fn = definitions.get_action(
            spec["action"] if held.phase == Phase.ACTION else spec["compensation"]
        )
        ctx = StepContext(run, held, _results(run), spec)
        connection = connections[dispatch.database()]
        if connection.vendor == "postgresql":
            # A worker stuck outside the database gives its lock up, so the sweep can.
            grace = ctx.timeout + lease_duration().total_seconds()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                    [str(int(grace * 1000))],
                )
        with _time_limit(ctx.timeout):
            output = fn(ctx)
        now = timezone.now()
        # `error` keeps the last failed attempt's reason (a retry, a lost worker).
        held.state, held.output = StepState.SUCCEEDED, output or {}
        held.finished_at, held.lease_expires_at = now, None
        held.heartbeat_at = ctx._step.heartbeat_at or now
        held.save(
            update_fields=[
                "state", "output", "finished_at", "lease_expires_at",
                "heartbeat_at", "updated_at",
            ]
        )  # fmt: skip
        _event(run, "step_succeeded", step=held)


class LeaseLost(Exception):
    """Another worker took the step over: this one commits nothing."""


def _retryable(exc: Exception, retry: definitions.Retry) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__} | {
        f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__
    }
    return not names & set(retry.non_retryable)


def _record_failure(step: StepRun, token: str, exc: Exception) -> None:
    connection = connections[dispatch.database()]
    if connection.connection is not None and not connection.is_usable():
        connection.close()  # the session dropped: the next query opens a new one
    with transaction.atomic(using=dispatch.database()):
        held = StepRun.objects.select_for_update().filter(pk=step.pk, lease_token=token).first()
        if held is None or held.state != StepState.RUNNING:
            return
        run = WorkflowRun.objects.get(pk=held.run_id)
        retry = definitions.Retry.of(step_spec(run, held.name).get("retry"))
        now = timezone.now()
        held.error = f"{type(exc).__name__}: {exc}"[:4000]
        held.lease_expires_at = None
        if held.attempts < retry.max_attempts and _retryable(exc, retry):
            delay = retry.delay(held.attempts)
            held.state, held.wake_at = StepState.PENDING, now + timezone.timedelta(seconds=delay)
            dispatch.send_after_commit(dispatch.RUN_STEP_TASK, held.pk, countdown=delay)
        else:
            held.state, held.finished_at = StepState.FAILED, now
            dispatch.send_after_commit(dispatch.ADVANCE_RUN_TASK, held.run_id)
        held.save(update_fields=["state", "error", "wake_at", "finished_at",
                                 "lease_expires_at", "updated_at"])  # fmt: skip


def run_step(step_id: int) -> StepRun | None:
    """Claim the step and run it once; the run advances afterwards."""
    step = claim(step_id)
    if step is None:
        return StepRun.objects.filter(pk=step_id).first()
    token = step.lease_token
    try:
        _execute(step, token)
    except LeaseLost:
        log.warning("workflow_step_lease_lost", extra={"step": step.pk})
        return StepRun.objects.filter(pk=step_id).first()
    except Exception as exc:  # noqa: BLE001  (recorded on the step; retried or compensated)
        log.warning("workflow_step_failed", extra={"step": step.pk, "error": str(exc)})
        _record_failure(step, token, exc)
        return StepRun.objects.filter(pk=step_id).first()
    advance(step.run_id)
    return StepRun.objects.filter(pk=step_id).first()


def wake(step_id: int) -> None:
    """A durable timer's end: the waiting step succeeds once its time has come."""
    now = timezone.now()
    with transaction.atomic(using=dispatch.database()):
        step = StepRun.objects.select_for_update().filter(pk=step_id).first()
        if step is None or step.state != StepState.WAITING or not step.wake_at:
            return
        if step.wake_at > now:
            return  # early (a countdown the broker shortened): the sweep wakes it
        step.state, step.finished_at, step.wake_at = StepState.SUCCEEDED, now, None
        step.output = {"woke_at": now.isoformat()}
        step.save(update_fields=["state", "finished_at", "wake_at", "output", "updated_at"])
    advance(step.run_id)
