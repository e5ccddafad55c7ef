"""Workflow rows (issue 16): steps per second through a real worker against a bare
Celery task each, and the resume latency after a worker is SIGKILLed mid-step (lease
expiry, then beat's sweep re-enqueues the step for another worker)."""

from __future__ import annotations

import time

from django.conf import settings

from bench.harness import Goal, Outcome, register
from tenancy.context import TenantRef, tenant_context
from tenancy.models import Tenant
from tests.celery_process import start_worker_process, tasks_to_broker
from workflow_mgr import actions
from workflow_mgr.models import RunState, StepRun, StepState, WorkflowRun
from workflow_mgr.tasks import sweep_workflows_task
from workflow_mgr.tests import flows

LEASE = 2.0  # the worker's lease (JOBS_LEASE_SECONDS)
WORKER_ENV = {"JOBS_LEASE_SECONDS": LEASE, "DIM_EXTRA_APPS": "workflow_mgr.tests.apps.FlowsConfig"}


def _tenant() -> TenantRef:
    tenant, _ = Tenant.objects.get_or_create(slug="bench-workflow", defaults={"name": "bench wf"})
    return TenantRef.of(tenant)


def _wait(condition, what: str, timeout: float = 300.0, every: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}")


def _chain(length: int) -> None:
    """`length + 1` bare tasks through the worker, each sending the next; returns when
    the last one ran."""
    import uuid

    import redis

    key = f"bench-wf-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    flows.chain_task.delay(length, key)
    _wait(lambda: client.get(key), "the bare tasks", timeout=120)
    client.delete(key)


def _state(run_id) -> str:
    return WorkflowRun.objects.filter(pk=run_id).values_list("state", flat=True).first()


@register(
    "workflow.throughput",
    title="Workflow: steps/s through a real worker (50 sequential no-op steps per run)",
    ours="`workflow_mgr`: claim (lease), the step's transaction, advance, one message per step",
    peer="a bare Celery task per step, each sending the next (one message per step)",
    goal=Goal(8.0, "time per step ratio ours/peer"),
)
def throughput_row(ctx):
    if not settings.REDIS_URL:
        raise RuntimeError("needs REDIS_URL (make bench sets it when Redis answers)")
    ref = _tenant()
    runs = ctx.iters(5, 2)
    n = flows.BENCH_STEPS * runs
    with tasks_to_broker(settings.REDIS_URL) as queue, start_worker_process(queue, **WORKER_ENV):
        with tenant_context(ref):
            _chain(0)  # the worker is up
            started = time.perf_counter()
            for _ in range(runs):
                run = actions.create_run("t.bench")
                _wait(lambda r=run: _state(r.pk) == RunState.SUCCEEDED, "a bench run")
            ours = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(runs):
                _chain(flows.BENCH_STEPS - 1)
            peer = time.perf_counter() - started
    per_step, per_task = ours / n * 1000, peer / n * 1000
    return Outcome(
        value=per_step / per_task,
        ours_text=f"{n / ours:,.0f} steps/s ({per_step:.1f} ms per step)",
        peer_text=f"{n / peer:,.0f} tasks/s ({per_task:.1f} ms per task)",
        notes=(
            f"overhead per step over a bare task: {per_step - per_task:.1f} ms "
            f"({runs} runs of {flows.BENCH_STEPS} steps, solo worker, PostgreSQL + Redis)",
        ),
    )


SWEEP_EVERY = 0.25  # seconds: beat's WORKFLOW_SWEEP_INTERVAL in this row (15 by default)


def _nap(run_id) -> StepRun | None:
    return StepRun.objects.filter(run_id=run_id, name="nap").first()


@register(
    "workflow.resume",
    title="Workflow: resume latency after the worker running a step is SIGKILLed",
    ours="`workflow_mgr`: lease expiry, beat's sweep re-enqueues, a second worker claims",
    peer="the bound a lease design promises: lease length + one sweep interval",
    goal=Goal(1.0, "worst resume latency / (lease + sweep interval)"),
)
def resume_row(ctx):
    if not settings.REDIS_URL:
        raise RuntimeError("needs REDIS_URL (make bench sets it when Redis answers)")
    ref = _tenant()
    latencies = []
    with tasks_to_broker(settings.REDIS_URL) as queue, tenant_context(ref):
        for _ in range(ctx.iters(3, 1)):
            with start_worker_process(queue, **WORKER_ENV) as first:
                run = actions.create_run("t.bench_resume")

                def claimed(attempt, r=run):
                    step = _nap(r.pk)
                    return step and step.state == StepState.RUNNING and step.attempts == attempt

                _wait(lambda: claimed(1), "the first worker to start the step", every=0.01)
                # The second worker starts only now, so the first one took the message.
                with start_worker_process(queue, **WORKER_ENV) as second:
                    _wait(lambda: " ready." in second.log(), "the second worker", every=0.05)
                    first.kill()
                    killed = time.perf_counter()
                    next_sweep = killed
                    while not claimed(2):
                        if time.perf_counter() >= next_sweep:
                            sweep_workflows_task()
                            next_sweep += SWEEP_EVERY
                        time.sleep(0.005)
                        if time.perf_counter() - killed > 120:
                            raise RuntimeError("the step was not resumed within 120 s")
                    latencies.append(time.perf_counter() - killed)
    worst = max(latencies)
    return Outcome(
        value=worst / (LEASE + SWEEP_EVERY),
        ours_text=f"worst resume {worst * 1000:,.0f} ms of {len(latencies)} kills",
        peer_text=f"bound {(LEASE + SWEEP_EVERY) * 1000:,.0f} ms",
        notes=(
            "the kill comes once the second worker is ready, seconds into the step, when the "
            "lease has lapsed (a long step's locked row, not its lease, says it is alive): "
            "resume = PostgreSQL dropping the dead session's lock + the next sweep "
            f"(every {SWEEP_EVERY} s here) + re-enqueue + claim; a kill within a lease of the "
            "claim adds what is left of it; with beat's default WORKFLOW_SWEEP_INTERVAL of "
            "15 s add up to 15 s",
        ),
    )
