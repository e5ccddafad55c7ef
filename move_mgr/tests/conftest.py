import time

import pytest
from celery import current_app

from connection_mgr.tests.test_dedicated import dedicated_db  # noqa: F401  (the fixture)
from tenancy.context import get_current_tenant, tenant_context


@pytest.fixture
def worker(monkeypatch):
    """The workflow's messages, queued instead of run eagerly inside the commit that
    sent them (nested eager tasks of a committed test would recurse without end), and
    run one at a time, in order of their countdown, by `worker()`."""
    from workflow_mgr import dispatch

    queue: list = []

    class Queued:
        def __init__(self, name, args):
            self.name, self.args = name, args

        def apply_async(self, countdown=None, **kwargs):
            queue.append((time.monotonic() + (countdown or 0), get_current_tenant(), self))

    monkeypatch.setattr(dispatch, "signature", lambda name, args: Queued(name, args))

    def drain(limit=500):
        for _ in range(limit):
            if not queue:
                return
            queue.sort(key=lambda item: item[0])
            due, tenant, message = queue.pop(0)
            time.sleep(max(0.0, due - time.monotonic()))
            with tenant_context(tenant):
                current_app.tasks[message.name].apply(args=message.args, throw=True)
        raise AssertionError("the workflow did not settle")

    return drain
