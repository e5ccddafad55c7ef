"""A job kind for the tests: `tests.count` creates one Folder per step (its work) and
checkpoints how far it got, so "every step done exactly once" is visible as rows."""

from jobs_mgr import actions, registry
from tenancy import resettable
from tests.scoping_app.models import Folder

COUNT = "tests.count"
FAIL_ONCE: set[int] = set()  # job ids whose `fail_at` step already failed once
resettable.register(FAIL_ONCE.clear, name="jobs_mgr.tests.conftest.FAIL_ONCE")


def count_runner(ctx):
    n = ctx.params["n"]
    i = ctx.checkpoint.get("i", 0)
    ctx.save(total=n)
    while i < n:
        with ctx.step():
            Folder.objects.create(name=f"job-{ctx.job.pk}-step-{i}")
            if i == ctx.params.get("fail_at") and ctx.job.pk not in FAIL_ONCE:
                FAIL_ONCE.add(ctx.job.pk)
                raise RuntimeError(f"step {i} broke")
            if i == ctx.params.get("cancel_at"):
                # Someone cancels while this step runs: it completes, the next never starts.
                actions.cancel_job(ctx.job.pk, actor="bob")
            i += 1
            ctx.save({"i": i}, done=i)
    return {"counted": i}


registry.register(COUNT, count_runner, title="Count (tests)")


def steps_done(job) -> list[str]:
    return sorted(
        Folder.objects.filter(name__startswith=f"job-{job.pk}-").values_list("name", flat=True)
    )
