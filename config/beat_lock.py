"""One beat sends, however many run: a leader lock in Redis (issue 18).

django-celery-beat's DatabaseScheduler has no election, so two beat processes (two
replicas, or an old pod still terminating beside its replacement) would send every
periodic task twice. `LeaderDatabaseScheduler` holds a Redis key (SET NX PX, renewed
by compare-and-extend) before each tick; a beat that does not hold it sends nothing and
tries again within a third of the lease. Whoever becomes leader re-reads the schedule
from the database, where the previous leader wrote each entry's last run after every
send (`sync_every_tasks = 1`), so a failover does not repeat what was just sent.

Without Redis (the embedded default: one beat) there is nothing to elect and every tick
runs. With Redis unreachable, no beat can prove it leads, so none sends until it is back.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

log = logging.getLogger("dim.beat")
LOCK_KEY = "dim:beat:leader"
# Extend the lease only if we still hold it (another beat may have taken it after ours
# expired); delete it only if it is ours.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def _client():
    from tenancy.pubsub import configured_client

    return configured_client()


class LeaderDatabaseScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self.leader_token = uuid.uuid4().hex
        self.is_leader = False
        super().__init__(*args, **kwargs)
        self.sync_every_tasks = 1  # the last run reaches the database after every send

    @property
    def lease_ms(self) -> int:
        return int(float(settings.BEAT_LEADER_LEASE_SECONDS) * 1000)

    def _hold_lock(self) -> bool:
        client = _client()
        if client is None:
            return True
        try:
            if self.is_leader and client.eval(
                _RENEW, 1, LOCK_KEY, self.leader_token, self.lease_ms
            ):
                return True
            return bool(client.set(LOCK_KEY, self.leader_token, nx=True, px=self.lease_ms))
        except Exception as exc:  # noqa: BLE001  (unproven leadership: send nothing)
            log.warning(
                "beat_leader_unknown", extra={"event": "beat_leader_unknown", "error": str(exc)}
            )
            return False

    def tick(self, *args, **kwargs):
        was_leader, self.is_leader = self.is_leader, self._hold_lock()
        retry = self.lease_ms / 3000.0
        if not self.is_leader:
            if was_leader:
                log.warning("beat_leader_lost", extra={"event": "beat_leader_lost"})
            return min(self.max_interval, retry)
        if not was_leader:
            log.info("beat_leader_acquired", extra={"event": "beat_leader_acquired"})
            self._initial_read = True  # what the last leader sent, from the database
            self._heap = None
        return min(super().tick(*args, **kwargs), retry)

    def close(self):
        try:
            super().close()
        finally:
            client = _client()
            if self.is_leader and client is not None:
                try:
                    client.eval(_RELEASE, 1, LOCK_KEY, self.leader_token)
                except Exception as exc:  # noqa: BLE001  (the lease expires by itself)
                    log.info("beat_leader_release_failed", extra={"error": str(exc)})
                self.is_leader = False
