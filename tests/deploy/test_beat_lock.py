"""Two beats never send a periodic task twice: the Redis leader lock of
config/beat_lock.py. The multi-process version runs in `make cluster-test`."""

from __future__ import annotations

import pytest
from django_celery_beat import schedulers

from config import beat_lock
from config.celery import app as celery_app
from tests.markers import redis_only

pytestmark = [pytest.mark.django_db, redis_only("the leader lock lives in Redis")]


@pytest.fixture
def beats(monkeypatch, settings):
    settings.BEAT_LEADER_LEASE_SECONDS = 30.0
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    sent: list[str] = []

    def parent_tick(self, *args, **kwargs):  # what sends the due entries
        sent.append(self.leader_token)
        return 1.0

    monkeypatch.setattr(schedulers.DatabaseScheduler, "tick", parent_tick)
    client = beat_lock._client()
    client.delete(beat_lock.LOCK_KEY)
    made = [beat_lock.LeaderDatabaseScheduler(app=celery_app) for _ in range(2)]
    yield made, sent
    for beat in made:
        beat._finalize.cancel()
        beat.close()
    client.delete(beat_lock.LOCK_KEY)


def test_only_the_leader_sends_and_the_other_takes_over(beats):
    (first, second), sent = beats
    for _ in range(3):
        first.tick()
        second.tick()
    assert first.is_leader and not second.is_leader
    assert sent == [first.leader_token] * 3
    first.close()  # a beat that stops hands the lock back at once
    second.tick()
    assert second.is_leader
    assert sent[-1] == second.leader_token
    first.tick()
    assert not first.is_leader and sent.count(first.leader_token) == 3


def test_an_expired_lease_held_by_another_is_not_renewed(beats):
    (first, second), sent = beats
    first.tick()
    client = beat_lock._client()
    client.set(beat_lock.LOCK_KEY, second.leader_token, px=30_000)  # first's lease lapsed
    first.tick()
    assert not first.is_leader
    assert sent == [first.leader_token]
    assert client.get(beat_lock.LOCK_KEY).decode() == second.leader_token


def test_without_redis_the_single_beat_runs(beats, monkeypatch):
    (first, _second), sent = beats
    monkeypatch.setattr(beat_lock, "_client", lambda: None)
    first.tick()
    assert sent == [first.leader_token]
