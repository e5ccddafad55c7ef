"""`make cluster-test`: the product as a cluster on one machine, everything on loopback
(issue 18). Two web processes (gunicorn + uvicorn workers, production settings) behind
haproxy, two Celery workers and two beats, against one PostgreSQL and one Redis
(scripts/services.py prepares the database, as for `make test`). Then, in about two
minutes, it checks:

1. a session revoked through one web process is refused by the other within 1 s;
2. a cache invalidation reaches both web processes (within 1 s);
3. two beats never send a periodic task twice (the Redis leader lock,
   config/beat_lock.py), and the other takes over when the leader is killed;
4. an alert fires exactly once (one webhook) however many workers and beats run;
5. a saga (workflow_mgr) survives the worker running one of its steps being killed
   (SIGKILL): the step's lease expires, the sweep requeues it, another worker redoes it
   and the run succeeds with each step's effect exactly once;
6. a durable job (jobs_mgr, a metadata bulk import) likewise: resumed from its
   checkpoint, every line imported exactly once;
7. a worker sent SIGTERM (warm shutdown) finishes the saga step it is running, then
   exits cleanly;
8. a web process killed (SIGKILL) under load loses no request: haproxy retries what
   was in flight on the other one;
9. a web process sent SIGTERM (graceful shutdown) answers its in-flight slow request
   with 200, then exits cleanly.

Fails, never skips, when haproxy, PostgreSQL or Redis is missing. Prints one line per
check and "N passed, M failed".
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TENANT, USER, PASSWORD = "acme", "acme-owner", "demo-password-123"  # seed_demo's
SAMPLE_TASK = "perf_mgr.tasks.sample_queue_depth_task"
SAMPLE_INTERVAL = 2.0
IMPORT_LINES = 300
SAGA = "cluster.saga"  # tests/cluster_app/flows.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, what: str, seconds: float = 30.0, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = condition()
        except (httpx.HTTPError, OSError):
            found = None
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict, logdir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = logdir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        log = open(self.log_path, "ab")  # noqa: SIM115  (the child keeps it)
        self.popen = subprocess.Popen(  # noqa: S603  (our own command)
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed with its children
        )  # fmt: skip
        log.close()
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        if self.popen is not None:
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Cluster:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="dim-cluster-"))
        self.procs: dict[str, Proc] = {}
        self.web_ports = [free_port(), free_port()]
        self.lb_port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MANAGERS_CONFIG_LEVEL": "production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "SECURITY_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            # The saga's effects are tests.scoping_app's Folder rows.
            "DIM_EXTRA_APPS": "tests.cluster_app,tests.scoping_app",
            "DIM_VAR_DIR": str(self.tmp / "var"),
            "PERFORMANCE_MONITORING_INTERVAL": str(SAMPLE_INTERVAL),
            "JOBS_LEASE_SECONDS": "4",
            "JOBS_SWEEP_INTERVAL": "2",
            "WORKFLOW_SWEEP_INTERVAL": "2",
            # Only the pub/sub message can make web2 refuse a revoked session or drop a
            # cached value within the checks' hang guard: no resync, no expiry, no
            # generation re-read comes due during a run.
            "SESSION_RESYNC_SECONDS": "3600",
            "CACHE_LOCAL_MAX_AGE": "3600",
            "CACHE_GENERATION_CHECK_SECONDS": "3600",
            "BEAT_LEADER_LEASE_SECONDS": "3",
            "METADATA_IMPORT_BATCH": "20",
            "WEB_CONCURRENCY": "1",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            # Alerting on a short clock, webhooks to this script's loopback receiver.
            "ALERTING_WEBHOOK_ALLOW_PRIVATE": "true",
            "ALERTING_EVALUATION_INTERVAL": "2",
            "ALERTING_DELIVERY_INTERVAL": "1",
            "ALERTING_GROUP_WAIT_S": "0",
        }
        self.workers = 0

    def manage(self, *args: str, owner: bool = False) -> None:
        env = dict(self.env)
        if owner:
            env["DATABASE_URL"] = os.environ["DATABASE_OWNER_URL"]
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def add(self, name: str, argv: list[str], **env) -> Proc:
        proc = Proc(name, argv, {**self.env, **env}, self.tmp).start()
        self.procs[name] = proc
        return proc

    def web(self, index: int) -> Proc:
        gunicorn = str(VENV_BIN / "gunicorn")
        argv = [gunicorn, "--config", "config/gunicorn.py", "config.asgi:application"]
        return self.add(f"web{index}", argv, HOST="127.0.0.1", PORT=str(self.web_ports[index - 1]))

    def worker(self) -> Proc:
        self.workers += 1
        n = self.workers
        argv = [str(VENV_BIN / "celery"), "-A", "config", "worker", "--pool=solo",
                "--loglevel=INFO", f"--hostname=worker{n}@%h", "--without-mingle",
                "--without-gossip"]  # fmt: skip
        return self.add(f"worker{n}", argv)

    def beat(self, index: int) -> Proc:
        argv = [str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
                f"--pidfile={self.tmp / f'beat{index}.pid'}",
                f"--schedule={self.tmp / f'beat{index}.db'}"]  # fmt: skip
        return self.add(f"beat{index}", argv)

    def haproxy(self) -> Proc:
        servers = "\n".join(
            f"    server web{i} 127.0.0.1:{port} check inter 300ms fall 1 rise 2"
            for i, port in enumerate(self.web_ports, 1)
        )
        config = self.tmp / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    # In-flight idempotent requests of a process that dies are retried elsewhere.
    retry-on all-retryable-errors
frontend dim
    bind 127.0.0.1:{self.lb_port}
    default_backend web
backend web
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""
        )
        return self.add("haproxy", [shutil.which("haproxy"), "-db", "-f", str(config)])

    def url(self, which: int | None = None) -> str:
        port = self.lb_port if which is None else self.web_ports[which - 1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()


def client(url: str, token: str | None = None) -> httpx.Client:
    headers = {"X-Tenant": TENANT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=url, headers=headers, timeout=20)


def login(url: str) -> tuple[str, str]:
    with client(url) as c:
        r = c.post("/api/v1/sessions/", json={"tenant_id": TENANT}, auth=(USER, PASSWORD))
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()["id"], r.json()["token"]


# --- the checks ----------------------------------------------------------------------


def check_session_revocation(cluster: Cluster) -> str:
    session_id, token = login(cluster.url(1))
    validate = f"/sessions/{session_id}/validate"
    with client(cluster.url(1), token) as one, client(cluster.url(2), token) as two:
        assert two.get(validate).status_code == 200, "web2 does not know the session"
        revoked = one.post(f"/api/v1/sessions/{session_id}/revoke/")
        assert revoked.status_code in (200, 204), revoked.text
        start = time.monotonic()
        wait_until(lambda: two.get(validate).status_code == 401, "web2 refusing", 5, 0.02)
        took = time.monotonic() - start
    # The figure is reported, not asserted (timings belong in bench/); what is checked is
    # that the message, the only path left open, reached the other process at all.
    return f"web2 refused it after {took * 1000:.0f} ms"


def check_cache_invalidation(cluster: Cluster, token: str) -> str:
    with client(cluster.url(1), token) as one, client(cluster.url(2), token) as two:
        first = one.get("/api/v1/cluster/cache/").json()["value"]
        assert two.get("/api/v1/cluster/cache/").json()["value"] == first, "web2 not shared"
        r = one.post("/api/v1/cache/invalidate", json={"namespace": "cluster"})
        assert r.status_code == 200, r.text
        start = time.monotonic()
        for side in (one, two):
            wait_until(
                lambda side=side: side.get("/api/v1/cluster/cache/").json()["value"] != first,
                "a fresh value", 5, 0.02,
            )  # fmt: skip
        took = time.monotonic() - start
    return f"both web processes dropped the old value within {took * 1000:.0f} ms"


def _sample_runs(cluster: Cluster) -> set[str]:
    ids: set[str] = set()
    for name, proc in cluster.procs.items():
        if name.startswith("worker"):
            ids |= set(
                re.findall(rf"Task {re.escape(SAMPLE_TASK)}\[([0-9a-f-]+)\] received", proc.log())
            )
    return ids


def _leaders(cluster: Cluster) -> list[str]:
    return [
        name for name, proc in cluster.procs.items()
        if name.startswith("beat") and "beat_leader_acquired" in proc.log()
    ]  # fmt: skip


def _sent(proc: Proc) -> int:
    return proc.log().count("Sending due task")


def check_single_beat(cluster: Cluster, started: float) -> str:
    window = time.monotonic() - started
    runs = len(_sample_runs(cluster))
    leaders = _leaders(cluster)
    assert len(leaders) == 1, f"beats that took the lead: {leaders}"
    leader = cluster.procs[leaders[0]]
    other = "beat2" if leaders[0] == "beat1" else "beat1"
    sent = _sent(leader)
    assert sent >= 1, "the leader sent nothing"
    assert _sent(cluster.procs[other]) == 0, f"{other} sent tasks while {leader.name} led"
    most = window / SAMPLE_INTERVAL + 2
    assert 1 <= runs <= most, f"{runs} runs of the {SAMPLE_INTERVAL:.0f} s task in {window:.0f} s"
    leader.kill()  # SIGKILL: the lock is not released, it expires
    wait_until(lambda: "beat_leader_acquired" in cluster.procs[other].log(), "a new leader", 15)
    before = len(_sample_runs(cluster))
    wait_until(lambda: len(_sample_runs(cluster)) > before, "runs from the new leader", 15)
    return (
        f"{leader.name} led and sent {sent} tasks in {window:.0f} s, {other} none; "
        f"{other} took over when {leader.name} was killed"
    )


def check_job_survives_worker_kill(cluster: Cluster, token: str) -> str:
    lines = "\n".join(
        json.dumps({"metadata_type": "schema", "name": f"cluster-{i}", "content": {"i": i}})
        for i in range(IMPORT_LINES)
    )
    with client(cluster.url(), token) as c:
        r = c.post(
            "/api/v1/metadata/imports/", content=lines.encode(),
            headers={"Content-Type": "application/x-ndjson"},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        job_id = r.json()["job"]

        def running():
            job = c.get(f"/api/v1/jobs/{job_id}/").json()
            return job if job["state"] == "running" and job["progress_done"] > 0 else None

        job = wait_until(running, "the import running", 60, 0.05)
        pid = int(job["worker"].rsplit(":", 1)[1])
        victim = next(
            (p for n, p in cluster.procs.items() if n.startswith("worker") and p.popen.pid == pid),
            None,
        )
        assert victim is not None, f"no worker of ours runs the job ({job['worker']})"
        done_at_kill = job["progress_done"]
        victim.kill()
        cluster.worker()  # its replacement, as a Deployment would start
        final = wait_until(
            lambda: (j := c.get(f"/api/v1/jobs/{job_id}/").json())["state"] == "succeeded" and j,
            "the job to finish after the kill", 90, 0.2,
        )  # fmt: skip
    result = final["result"]
    assert result.get("imported") == IMPORT_LINES, result
    assert result.get("rejected", 0) == 0, result
    assert final["attempts"] >= 2, final
    assert final["worker"] != job["worker"], final["worker"]
    return (
        f"killed {victim.name} at {done_at_kill}/{IMPORT_LINES} lines; resumed on "
        f"another worker; {result['imported']} imported exactly once"
    )


def _saga_step(c: httpx.Client, run_id: int, name: str) -> tuple[dict, dict | None]:
    run = c.get(f"/api/v1/workflows/{run_id}/").json()
    step = next(
        (s for s in run["steps"] if s["phase"] == "action" and s["name"] == name), None
    )  # fmt: skip
    return run, step


def _worker_running(cluster: Cluster, worker: str) -> Proc:
    pid = int(worker.rsplit(":", 1)[1])
    found = next(
        (p for n, p in cluster.procs.items() if n.startswith("worker") and p.popen.pid == pid),
        None,
    )
    assert found is not None, f"no worker of ours runs the step ({worker})"
    return found


def _saga_holding_in_b(cluster: Cluster, c: httpx.Client, hold: float):
    """Start the cluster saga; returns (run id, step b as seen running, its worker)."""
    r = c.post("/api/v1/workflows/", json={"definition": SAGA, "input": {"hold": hold}})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]

    def holding():
        _run, b = _saga_step(c, run_id, "b")
        return b if b and b["state"] == "running" and b["attempts"] == 1 and b["worker"] else None

    b = wait_until(holding, "saga step b running", 60, 0.05)
    return run_id, b, _worker_running(cluster, b["worker"])


def _saga_finished(c: httpx.Client, run_id: int, what: str) -> dict:
    run = wait_until(
        lambda: (r := c.get(f"/api/v1/workflows/{run_id}/").json())["finished_at"] and r,
        what, 90, 0.2,
    )  # fmt: skip
    assert run["state"] == "succeeded", (run["state"], run.get("error"))
    return run


def _effects_once(c: httpx.Client, run: dict) -> dict:
    """Each step's effect exactly once: one Folder row per step, written by the
    attempt that succeeded (the killed attempt's row rolled back with its transaction)."""
    effects = c.get(f"/api/v1/cluster/saga/{run['id']}/effects/").json()["effects"]
    steps = {s["name"]: s for s in run["steps"] if s["phase"] == "action"}
    want = [f"cluster-{run['id']}-{n}-{steps[n]['attempts']}" for n in ("a", "b", "c")]
    assert effects == want, f"effects {effects}, expected {want}"
    assert all(s["state"] == "succeeded" for s in steps.values()), steps
    return steps


def check_saga_survives_worker_kill(cluster: Cluster, token: str) -> str:
    with client(cluster.url(), token) as c:
        run_id, b, victim = _saga_holding_in_b(cluster, c, hold=25)
        victim.kill()  # SIGKILL, inside step b's transaction
        cluster.worker()  # its replacement, as a Deployment would start
        run = _saga_finished(c, run_id, "the saga to finish after the kill")
        steps = _effects_once(c, run)
    b_done = steps["b"]
    assert b_done["attempts"] == 2 and "stopped answering" in b_done["error"], b_done
    assert b_done["worker"] != b["worker"], b_done["worker"]
    return (
        f"killed {victim.name} inside step b; the sweep requeued it, another worker redid "
        f"it; run {run_id} succeeded, effects {', '.join(n for n in steps)} once each"
    )


def check_worker_warm_shutdown(cluster: Cluster, token: str) -> str:
    with client(cluster.url(), token) as c:
        run_id, b, victim = _saga_holding_in_b(cluster, c, hold=3)
        term_at = datetime.now(UTC)
        victim.kill(signal.SIGTERM)  # warm shutdown: finish the running task, take no new one
        exited = wait_until(lambda: victim.popen.poll() is not None, f"{victim.name} to exit", 60)
        cluster.worker()  # its replacement
        run = _saga_finished(c, run_id, "the saga to finish after the warm shutdown")
        steps = _effects_once(c, run)
    code = victim.popen.returncode
    assert exited and code == 0, f"{victim.name} exited {code}"
    b_done = steps["b"]
    assert b_done["attempts"] == 1 and b_done["worker"] == b["worker"], b_done
    finished = datetime.fromisoformat(b_done["finished_at"].replace("Z", "+00:00"))
    assert finished > term_at, f"step b ended at {finished}, before the SIGTERM ({term_at})"
    return f"{victim.name} finished step b (attempt 1) after SIGTERM, then exited 0"


class Receiver:
    """A loopback webhook receiver: every POST's idempotency key and body."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.headers.get("X-DIM-Idempotency-Key"), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


RULE = """alerts:
  - name: cluster_requests_seen
    condition: http_request_duration_seconds_count > 0
    severity: warning
"""


def check_alert_fires_once(cluster: Cluster, token: str) -> str:
    receiver = Receiver()
    with client(cluster.url(), token) as c:
        channel = {"name": "cluster", "kind": "webhook", "target": receiver.url}
        r = c.post("/api/v1/alerts/channels/", json={**channel, "min_severity": "info"})
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/alerts/rules/import/", json={"yaml": RULE})
        assert r.status_code in (200, 201), r.text
    wait_until(lambda: receiver.received, "the alert's webhook", 45, 0.2)
    time.sleep(4 * 2.0)  # four more evaluations, by two workers under two beats
    receiver.server.shutdown()
    keys = {key for key, _body in receiver.received}
    assert len(receiver.received) == 1, f"{len(receiver.received)} webhooks, keys {keys}"
    return "one webhook for the firing alert across four more evaluation rounds"


def check_web_kill_under_load(cluster: Cluster) -> str:
    session_id, token = login(cluster.url())
    validate = f"/sessions/{session_id}/validate"
    outcomes: list[str] = []
    stop = threading.Event()
    users = 8

    def load():
        with client(cluster.url(), token) as c:
            while not stop.is_set():
                try:
                    outcomes.append(str(c.get(validate).status_code))
                except httpx.HTTPError as exc:
                    outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=load) for _ in range(users)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        cluster.procs["web2"].kill()
        time.sleep(4)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    failed = [o for o in outcomes if o != "200"]
    assert len(outcomes) > 20, f"only {len(outcomes)} requests under load"
    assert len(failed) <= users, f"{len(failed)} lost of {len(outcomes)}: {sorted(set(failed))}"
    return f"{len(outcomes)} requests, {len(failed)} failed (at most {users} were in flight)"


def check_web_graceful_shutdown(cluster: Cluster, token: str) -> str:
    """Last: web2 is gone (the check before); SIGTERM to web1's gunicorn master, as
    Kubernetes sends it, with a slow request in flight straight to web1."""
    web = cluster.procs["web1"]
    nonce = secrets.token_hex(6)
    answer: dict = {}

    def slow():
        with client(cluster.url(1), token) as c:
            try:
                answer["response"] = c.get(
                    "/api/v1/cluster/slow/", params={"seconds": 4, "nonce": nonce}
                )
            except httpx.HTTPError as exc:
                answer["error"] = repr(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    wait_until(lambda: f"cluster_slow_started {nonce}" in web.log(), "the slow request", 30, 0.05)
    web.popen.send_signal(signal.SIGTERM)
    thread.join(timeout=60)
    response = answer.get("response")
    assert response is not None, f"the in-flight request failed: {answer.get('error')}"
    assert response.status_code == 200 and response.json()["nonce"] == nonce, response.text
    try:
        code = web.popen.wait(timeout=45)
    except subprocess.TimeoutExpired:
        raise AssertionError("web1 did not exit after SIGTERM") from None
    assert code == 0, f"web1 exited {code}"
    return "the in-flight 4 s request answered 200 after SIGTERM; web1 exited 0"


def main() -> int:
    if shutil.which("haproxy") is None:
        print("FAIL: haproxy is not installed (apt-get install haproxy)", file=sys.stderr)
        return 1
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        print("FAIL: needs PostgreSQL and Redis (eval scripts/services.py)", file=sys.stderr)
        return 1
    began = time.monotonic()
    cluster = Cluster()
    passed, failed = [], []
    try:
        cluster.manage("migrate", "--no-input", "-v", "0", owner=True)
        cluster.manage("seed_demo")
        cluster.manage("collectstatic", "--no-input", "-v", "0")
        for i in (1, 2):
            cluster.web(i)
        cluster.worker()
        cluster.worker()
        beats_started = time.monotonic()
        cluster.beat(1)
        cluster.beat(2)
        cluster.haproxy()
        for i in (1, 2):
            wait_until(
                lambda i=i: httpx.get(cluster.url(i) + "/readyz", timeout=5).status_code == 200,
                f"web{i} ready", 90, 0.5,
            )  # fmt: skip
        wait_until(lambda: httpx.get(cluster.url() + "/healthz").status_code == 200, "haproxy")
        print(f"cluster up in {time.monotonic() - began:.0f} s ({cluster.tmp})", flush=True)
        _sid, token = login(cluster.url(1))
        checks = [
            ("session revoked on one web is refused by the other",
             partial(check_session_revocation, cluster)),
            ("cache invalidation reaches both web processes",
             partial(check_cache_invalidation, cluster, token)),
            ("a saga survives the worker running a step being killed",
             partial(check_saga_survives_worker_kill, cluster, token)),
            ("a durable job survives its worker being killed",
             partial(check_job_survives_worker_kill, cluster, token)),
            ("a worker sent SIGTERM finishes its running task",
             partial(check_worker_warm_shutdown, cluster, token)),
            ("two beats never send a periodic task twice",
             partial(check_single_beat, cluster, beats_started)),
            ("an alert fires exactly once",
             partial(check_alert_fires_once, cluster, token)),
            ("a web process killed under load loses no request",
             partial(check_web_kill_under_load, cluster)),
            ("a web process sent SIGTERM finishes its in-flight request",
             partial(check_web_graceful_shutdown, cluster, token)),
        ]  # fmt: skip
        for name, check in checks:
            try:
                detail = check()
            except Exception as exc:  # noqa: BLE001  (reported, then the next check)
                failed.append(name)
                print(f"FAIL {name}: {exc}", flush=True)
            else:
                passed.append(name)
                print(f"ok   {name}: {detail}", flush=True)
    finally:
        cluster.stop()
        if failed:
            for name, proc in cluster.procs.items():
                print(f"--- {name} (last lines) ---\n{proc.log()[-2000:]}")
        else:
            shutil.rmtree(cluster.tmp, ignore_errors=True)
    print(f"cluster-test: {time.monotonic() - began:.0f} s")
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
