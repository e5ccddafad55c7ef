"""A real Celery worker is killed (SIGKILL) in the middle of a key rewrap: the job
shows its true state, the beat sweep requeues it once its lease has expired, a second
worker continues from the checkpoint, and every value ends up rewrapped exactly once
(issue 10, point 4).

The kill is made deterministic with a row lock: the test locks one note in the fifth
batch, so the worker commits four batches and then waits inside the fifth one's
transaction; that is where it dies."""

import os
import time

import psycopg
from django.conf import settings
from django.db import connection

import audit_mgr as audit
from audit_mgr.models import AuditEntry
from jobs_mgr.models import Job, JobState
from jobs_mgr.tasks import resume_stale_jobs_task
from security_mgr import actions, keyring, rewrap
from tenancy.context import tenant_context
from tenancy.db.proof import claim_on
from tests.celery_process import start_worker_process, tasks_to_broker
from tests.committed import committed_tenant, needs_owner
from tests.markers import postgres_only, redis_only
from tests.security_app.models import SecretNote

pytestmark = [
    postgres_only("the worker process must see the test's committed rows"),
    redis_only("the worker process needs a broker another process can reach"),
    needs_owner,
]

NOTES, BATCH, BLOCKED = 40, 5, 22  # the note at index 22 holds up the fifth batch
LEASE = 3  # seconds: the workers' lease, short so the test waits little for the sweep


def _wait_for(condition, what: str, worker=None, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    log = worker.log()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def _ciphertexts(tenant) -> dict:
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, body, extra FROM security_app_secretnote WHERE tenant_id = %s",
            [tenant.pk],
        )
        return {str(pk): (bytes(body), bytes(extra)) for pk, body, extra in cursor.fetchall()}


def _job(tenant, pk) -> Job:
    with tenant_context(tenant):
        return Job.objects.get(pk=pk)


def test_rewrap_resumes_after_its_worker_is_killed_and_rewraps_every_value_once(
    django_db_setup, django_db_blocker
):
    with committed_tenant(django_db_blocker, "rewrap-kill") as tenant:
        with tenant_context(tenant):
            for i in range(NOTES):
                SecretNote.objects.create(body=f"note {i}", extra={"i": i})
            actions.rotate_key(reason="yearly")
            order = [
                str(pk) for pk in SecretNote.objects.order_by("pk").values_list("pk", flat=True)
            ]
        # Another session (the "other transaction") locks one row of the fifth batch.
        locker = psycopg.connect(os.environ["DATABASE_URL"])
        claim_on(locker, str(tenant.pk))
        locker.execute(
            "SELECT 1 FROM security_app_secretnote WHERE id = %s FOR UPDATE", [order[BLOCKED]]
        )
        locker_pid = locker.info.backend_pid
        try:
            with tasks_to_broker(settings.REDIS_URL) as queue:
                with start_worker_process(queue, JOBS_LEASE_SECONDS=LEASE) as first:
                    with tenant_context(tenant):
                        job = rewrap.do_start_rewrap(batch_size=BATCH, actor="alice")

                    def blocked():
                        # Asked on a connection of its own: inside the locker's transaction
                        # pg_stat_activity would stay the snapshot of its first read.
                        with connection.cursor() as cursor:
                            cursor.execute(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE %s = ANY(pg_blocking_pids(pid))",
                                [locker_pid],
                            )
                            waiting = cursor.fetchone()[0]
                        return waiting and _job(tenant, job.pk).progress_done == 4 * BATCH

                    _wait_for(blocked, "the worker to wait inside its fifth batch", first)
                    running = _job(tenant, job.pk)
                    assert running.state == JobState.RUNNING and running.attempts == 1
                    first.kill()
                # The worker is dead; until its lease expires the job still says running,
                # with the progress of the four committed batches.
                after_kill = _ciphertexts(tenant)
                assert _job(tenant, job.pk).checkpoint["rows_scanned"] == 4 * BATCH
                locker.rollback()  # the dead worker's open transaction now rolls back
                versions = {
                    pk: {keyring.envelope_version(v) for v in values}
                    for pk, values in after_kill.items()
                }
                assert all(versions[pk] == {2} for pk in order[: 4 * BATCH])
                assert all(versions[pk] == {1} for pk in order[4 * BATCH :])

                with start_worker_process(queue, JOBS_LEASE_SECONDS=LEASE) as second:
                    # Beat's sweep, called here until the lease has expired.
                    _wait_for(
                        lambda: job.pk in resume_stale_jobs_task().get(tenant.slug, []),
                        "the sweep to requeue the job",
                        second,
                    )
                    requeued = _job(tenant, job.pk)
                    assert requeued.state in (JobState.QUEUED, JobState.RUNNING)
                    assert "stopped answering" in requeued.last_error
                    _wait_for(
                        lambda: _job(tenant, job.pk).state == JobState.SUCCEEDED,
                        "the second worker to finish the job",
                        second,
                    )
        finally:
            locker.close()

        done = _job(tenant, job.pk)
        assert done.attempts == 2 and done.progress == 1.0
        assert done.progress_done == done.progress_total == NOTES
        # Counted once: no batch was committed twice, none was lost.
        assert done.checkpoint["rows_scanned"] == NOTES
        assert done.checkpoint["values_rewrapped"] == 2 * NOTES
        assert done.result == {
            "target_version": 2,
            "rows_scanned": NOTES,
            "values_rewrapped": 2 * NOTES,
        }
        final = _ciphertexts(tenant)
        for pk in order[: 4 * BATCH]:
            assert final[pk] == after_kill[pk]  # rewrapped before the kill, not again
        assert {keyring.envelope_version(v) for values in final.values() for v in values} == {2}
        with tenant_context(tenant):
            keyring.forget()
            for i, note in enumerate(SecretNote.objects.order_by("body")):
                assert note.body.startswith("note ") and note.extra == {"i": int(note.body[5:])}
            assert i == NOTES - 1
            audit.flush()
            events = list(
                AuditEntry.objects.filter(event__in=["key.rewrapped", "job.requeued"])
                .order_by("seq")
                .values_list("event", flat=True)
            )
            assert events == ["job.requeued", "key.rewrapped"]
            assert audit.verify_log(audit.tenant_log()).ok
