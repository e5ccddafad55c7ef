"""A real Celery worker in its own process, on the test's PostgreSQL and Redis, that a
test can kill (SIGKILL) mid-task: `tasks_to_broker()` points this process's sends at
Redis, `start_worker_process()` starts `celery worker` on the same queue.

The thread worker of tests/celery_worker.py shares the test's process, so it cannot be
killed; this one can. Only where DATABASE_URL and REDIS_URL are set (the PostgreSQL +
Redis pass): the worker needs to see the test's committed rows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from tests.celery_worker import app_configured

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def tasks_to_broker(broker_url: str):
    """Sends from this process go to `broker_url`, on a queue of their own (so that no
    other test's worker takes them); yields the queue's name."""
    queue = f"dim-test-{uuid.uuid4().hex[:12]}"
    changes = {"broker_url": broker_url, "result_backend": broker_url, "task_default_queue": queue}
    try:
        with app_configured(changes):
            yield queue
    finally:
        import redis

        redis.Redis.from_url(broker_url).delete(queue)  # what nobody consumed
        from audit_mgr import sequencer

        sequencer._asked.clear()


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process, self.log_path = process, log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no cleanup, the database session just drops."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def start_worker_process(queue: str, **env):
    """`celery worker` (solo pool: one process, the one killed) consuming `queue`, with
    the test settings and extra environment `env` (e.g. JOBS_LEASE_SECONDS)."""
    handle, name = tempfile.mkstemp(prefix="dim-worker-", suffix=".log")
    log_path = Path(name)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "PYTHONPATH": str(ROOT),
        **{key: str(value) for key, value in env.items()},
    }
    with os.fdopen(handle, "w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "-n",
                f"{queue}-{uuid.uuid4().hex[:6]}@%h",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path)
    try:
        yield worker
    finally:
        worker.stop()
        log_path.unlink(missing_ok=True)
