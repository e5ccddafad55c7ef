"""The test helpers that start real Celery workers must not leak one test's broker
configuration into the next (the embedded worker test once hung for this reason)."""

from config.celery import app
from tests.celery_worker import app_configured


def test_app_configured_new_default_queue_is_what_a_worker_consumes_and_a_task_is_sent_to():
    before = app.amqp.queues  # an earlier test's worker built (and cached) the queue map
    assert app.conf.task_default_queue in before
    with app_configured({"task_default_queue": "dim-test-other", "broker_url": "memory://"}):
        assert app.amqp.default_queue.name == "dim-test-other"
        assert list(app.amqp.queues) == ["dim-test-other"]  # what a new worker consumes
    assert app.amqp.default_queue.name == app.conf.task_default_queue
    assert "dim-test-other" not in app.amqp.queues
