"""A real Celery worker thread for tests (a real Worker, consumer and message headers;
only the transport is in-process): the `real_worker` fixture."""

import contextlib

import pytest
from celery._state import _set_task_join_will_block
from celery.contrib.testing.worker import start_worker

from config.celery import app
from tenancy import resettable


def _forget_cached_connections():
    # The app caches its result backend per thread and its broker pool: both were built
    # for the eager configuration.
    app._local.__dict__.pop("backend", None)
    app._pool = None
    app.amqp._producer_pool = None
    # The queue map (and the default queue and task sender closed over it) is cached at
    # first use: a worker started later for another `task_default_queue` would consume
    # only the queues of that first map while the router sends to the new default.
    for cached in ("queues", "default_queue", "send_task_message"):
        app.amqp.__dict__.pop(cached, None)


def _forget_sent_tasks():
    """The in-memory transport's queues belong to the process: tasks sent and never
    consumed would run in the next test's worker. Also forget when the audit sequencer
    last asked for a task, which such a test set."""
    from kombu.transport.memory import Channel

    from audit_mgr import sequencer

    for queue in Channel.queues.values():
        while not queue.empty():
            queue.get_nowait()
    sequencer._asked.clear()


@contextlib.contextmanager
def tasks_to_memory_broker():
    """Tasks are sent, not run inline: to an in-process broker that nobody consumes
    unless a worker is started on it."""
    changes = {"broker_url": "memory://", "result_backend": "cache+memory://"}
    try:
        with app_configured(changes):
            yield app
    finally:
        _forget_sent_tasks()


@contextlib.contextmanager
def app_configured(changes: dict):
    """The app sends tasks (not eager) with `changes` to its configuration, restored
    afterwards; cached broker and backend connections are rebuilt both ways."""
    changes = {"task_always_eager": False, "broker_transport_options": {}, **changes}
    previous = {key: app.conf[key] for key in changes}
    app.conf.update(changes)
    _forget_cached_connections()
    try:
        yield
    finally:
        app.conf.update(previous)
        _forget_cached_connections()


@pytest.fixture
def real_worker():
    with tasks_to_memory_broker():
        try:
            with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
                yield app
        finally:
            # A started worker marks the whole process as one where joining a result
            # would block; later tests call `.get()` on eager results.
            _set_task_join_will_block(False)


# Eager tasks run by concurrent threads (the tests' producers) can leave Celery's
# process-wide "joining would block" flag set: `celery.result.denied_join_result` saves
# and restores it without a lock. Later tests call `.get()` on eager results.
resettable.register(
    lambda: _set_task_join_will_block(False), name="celery._state.task_join_will_block"
)
