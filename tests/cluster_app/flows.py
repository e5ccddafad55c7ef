"""The cluster test's saga (scripts/cluster_test.py): three steps in sequence, each
writing one Folder row (tests.scoping_app, installed beside this app) in its step's
transaction, named by run, step and attempt, so "each step's effect exactly once"
shows as one row per step. Step b holds for the run's `hold` seconds on its first
attempt only: long enough for the test to kill (SIGKILL) or stop (SIGTERM) the worker
running it; the attempt after a kill goes straight through."""

import time

from tests.scoping_app.models import Folder
from workflow_mgr import definitions
from workflow_mgr.definitions import Retry, Step

SAGA = "cluster.saga"
HOLD_LIMIT = 30.0  # seconds; under the step's timeout below
PROMPT = Retry(max_attempts=3, initial_delay=0, jitter=0)


def effect_prefix(run_id) -> str:
    return f"cluster-{run_id}-"


@definitions.action("cluster.make")
def make(ctx):
    Folder.objects.create(name=f"{effect_prefix(ctx.run_id)}{ctx.step}-{ctx.attempt}")
    if ctx.step == "b" and ctx.attempt == 1:
        time.sleep(min(HOLD_LIMIT, max(0.0, float(ctx.input.get("hold", 0)))))
    return {"made": ctx.step}


@definitions.action("cluster.unmake")
def unmake(ctx):
    Folder.objects.filter(name__startswith=f"{effect_prefix(ctx.run_id)}{ctx.step}-").delete()
    return {"undid": ctx.step}


definitions.register(
    SAGA,
    [Step(n, "cluster.make", "cluster.unmake", timeout=60, retry=PROMPT) for n in "abc"],
    title="Cluster test saga",
)
