"""Workflows for the tests, registered in the test process (conftest) and in a worker
subprocess (DIM_EXTRA_APPS=workflow_mgr.tests.apps.FlowsConfig). Every effect is a
Folder row written in the step's transaction, so "done exactly once" shows as rows."""

from celery import shared_task
from django.db import connection

from tests.scoping_app.models import Folder
from workflow_mgr import definitions
from workflow_mgr.definitions import Retry, Step

FAST = Retry(max_attempts=3, initial_delay=0, jitter=0)


def folder(run_id, what) -> str:
    return f"wf-{run_id}-{what}"


@definitions.action("t.make")
def make(ctx):
    Folder.objects.create(name=folder(ctx.run_id, ctx.step))
    return {"made": ctx.step, "ok": ctx.input.get("ok", True)}


@definitions.action("t.unmake")
def unmake(ctx):
    Folder.objects.filter(name=folder(ctx.run_id, ctx.step)).delete()
    Folder.objects.create(name=folder(ctx.run_id, f"undo-{ctx.step}"))
    return {"undid": ctx.output.get("made")}


@definitions.action("t.fail")
def fail(ctx):
    Folder.objects.create(name=folder(ctx.run_id, f"{ctx.step}-attempt-{ctx.attempt}"))
    raise RuntimeError("the card was declined")


@definitions.action("t.flaky")
def flaky(ctx):
    if ctx.attempt < 3:
        raise ConnectionError(f"attempt {ctx.attempt} lost the line")
    Folder.objects.create(name=folder(ctx.run_id, ctx.step))
    return {"attempts": ctx.attempt}


@definitions.action("t.gate")
def gate(ctx):
    """Makes its folder, then waits for the run's gate row (a test holds its lock)."""
    Folder.objects.create(name=folder(ctx.run_id, ctx.step))
    Folder.objects.select_for_update().get(name=ctx.input.get("gate", "wf-gate"))
    return {"made": ctx.step}


@definitions.action("t.gate_undo")
def gate_undo(ctx):
    Folder.objects.select_for_update().get(name=ctx.input.get("gate", "wf-gate"))
    Folder.objects.create(name=folder(ctx.run_id, f"undo-{ctx.step}"))
    return {"undid": ctx.step, "backend": connection.vendor}


@definitions.action("t.sleepy")
def sleepy(ctx):
    import time

    time.sleep(5)


def _steps(*names, last=None):
    steps = [Step(n, "t.make", "t.unmake", retry=FAST) for n in names]
    return steps + ([last] if last else [])


definitions.register("t.three", _steps("a", "b", "c"), title="Three steps (tests)")
definitions.register(
    "t.fails_third", _steps("a", "b", last=Step("c", "t.fail", "t.unmake", retry=FAST))
)
definitions.register(
    "t.fails_third_manual",
    _steps("a", "b", last=Step("c", "t.fail", "t.unmake", retry=FAST)),
    strategy="manual",
)
definitions.register(
    "t.flaky", [Step("a", "t.flaky", "t.unmake", retry=Retry(5, initial_delay=0, jitter=0))]
)
definitions.register(
    "t.non_retryable",
    _steps("a", last=Step("b", "t.fail", "t.unmake",
                          retry=Retry(5, 0, non_retryable=("RuntimeError",)))),
)  # fmt: skip
definitions.register(
    "t.approval",
    [
        Step("reserve", "t.make", "t.unmake", retry=FAST),
        Step("approve", signal="approved"),
        Step("ship", "t.make", "t.unmake", retry=FAST),
    ],
)
definitions.register(
    "t.parallel",
    [
        Step("start", "t.make", "t.unmake", retry=FAST),
        Step("left", "t.make", "t.unmake", retry=FAST, after=("start",)),
        Step("right", "t.make", "t.unmake", retry=FAST, after=("start",),
             when={"step": "start", "key": "ok", "equals": True}),
        Step("join", "t.make", "t.unmake", retry=FAST, after=("left", "right")),
    ],
)  # fmt: skip
definitions.register(
    "t.timer", [Step("a", "t.make", "t.unmake", retry=FAST), Step("pause", sleep=3600)]
)
definitions.register(
    "t.timeout", [Step("slow", "t.sleepy", read_only=True, timeout=0.2, retry=Retry(1))]
)
# The fault tests: a step that waits at its gate, and a compensation that does.
definitions.register("t.gated", _steps("a", last=Step("b", "t.gate", "t.unmake", retry=FAST)))
definitions.register(
    "t.gated_undo",
    [
        Step("a", "t.make", "t.unmake", retry=FAST),
        Step("b", "t.make", "t.gate_undo", retry=Retry(5, initial_delay=0.2, jitter=0)),
        Step("c", "t.fail", "t.unmake", retry=Retry(1)),
    ],
)


# The bench (bench/rows_workflow.py): no-op steps, and a bare Celery task as the peer.
@definitions.action("t.noop")
def noop(ctx):
    return None


BENCH_STEPS = 50
definitions.register(
    "t.bench", [Step(f"s{i}", "t.noop", read_only=True, retry=FAST) for i in range(BENCH_STEPS)]
)


# The resume-latency row: a step long enough to kill its worker in the middle of it.
@definitions.action("t.nap")
def nap(ctx):
    import time

    time.sleep(60)


definitions.register("t.bench_resume", [Step("nap", "t.nap", read_only=True, timeout=90)])


@shared_task(name="workflow_mgr.tests.flows.chain_task")
def chain_task(remaining: int, key: str):
    """A bare task per step, one after the other (each sends the next), as the bench's
    peer: the last one sets `key` in Redis."""
    if remaining > 0:
        chain_task.delay(remaining - 1, key)
        return
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).set(key, "1", ex=600)
