"""Celery as production has it, for bench code that must not run tasks inline: the
bench settings make Celery eager (the test settings), which would run a worker's job
inside a measured call."""

from __future__ import annotations

from contextlib import contextmanager

from celery.signals import after_task_publish

from config.celery import app


def _forget_connections() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def tasks_to_unconsumed_broker():
    """Tasks are really sent (serialised, published) to an in-process broker that no
    worker consumes: in a deployment a worker elsewhere takes them. Yields the names of
    the tasks sent."""
    sent: list[str] = []

    def record(sender=None, **kwargs):
        sent.append(sender)

    changes = {"task_always_eager": False, "broker_url": "memory://"}
    previous = {key: app.conf[key] for key in changes}
    app.conf.update(changes)
    _forget_connections()
    after_task_publish.connect(record, weak=False)
    try:
        yield sent
    finally:
        after_task_publish.disconnect(record)
        app.conf.update(previous)
        _forget_connections()
