"""Real outages for the degraded-mode tests (issue 10): a Redis server of the test's own
that it kills and restarts, and a TCP forwarder in front of the shared PostgreSQL that
it cuts and restores. The shared services (Redis on 6379, PostgreSQL on 5432) are never
stopped: other tests and people use them.

- `PrivateRedis`: `redis-server` on a free port of 127.0.0.1, no persistence; `kill()`
  is SIGKILL (no goodbye to the clients), `start()` again on the same port.
- `TcpProxy`: forwards 127.0.0.1:<port> to a target; `cut("refuse")` closes every
  connection and the listening socket (a stopped server), `cut("silent")` closes the
  connections and then accepts new ones without ever answering (a hung server, or a
  network that drops packets: only timeouts help); `restore()` forwards again.
- `ServerProcess`: the project's WSGI application in a subprocess (`tests/wsgi_process.py`),
  with the environment the test gives it.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30  # how long a service may take to come up (a wait, never an assertion)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, what: str, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class PrivateRedis:
    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self._proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: _answers(self.port), f"redis-server on {self.port}")
        return self

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=WAIT_SECONDS)
            self._proc = None

    def keys(self, pattern: str) -> list[bytes]:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2)
        try:
            return client.keys(pattern)
        finally:
            client.close()


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "forward"
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- control ------------------------------------------------------------------
    def start(self) -> TcpProxy:
        self.mode = "forward"
        self._listen()
        return self

    def cut(self, how: str = "refuse") -> None:
        assert how in ("refuse", "silent")
        self.mode = how
        self._drop_connections()
        if how == "refuse":
            self._close_listener()

    def restore(self) -> None:
        self._drop_connections()  # whatever a silent cut was holding
        self.mode = "forward"
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self.mode = "refuse"
        self._close_listener()
        self._drop_connections()

    # --- the forwarder ----------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _track(self, *socks) -> None:
        with self._lock:
            self._sockets.update(socks)

    def _drop_connections(self) -> None:
        with self._lock:
            socks, self._sockets = self._sockets, set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()/stop()
            self._track(client)
            if self.mode == "silent":
                continue  # held open, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._track(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while self.mode == "forward":
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    peers[s].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass


class ServerProcess:
    """`python -m tests.wsgi_process PORT` with `env` over the test's environment."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", **env}
        self._proc: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / f"wsgi_process_{self.port}.log"

    def start(self) -> ServerProcess:
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop())
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.wsgi_process", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._listening, f"the server process on {self.port}")
        return self

    def _listening(self) -> bool:
        if self._proc.poll() is not None:
            raise AssertionError(f"the server process exited:\n{self.output()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:]

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()
            self.log_path.unlink(missing_ok=True)


class Answer:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        import json

        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def http(method: str, url: str, *, headers=None, json_body=None, timeout: float = 30) -> Answer:
    """One request with the standard library; any status is an answer, never an error.
    No answer within `timeout` raises (TimeoutError): that is how a test says "does not
    hang" without measuring anything."""
    import json
    import urllib.error
    import urllib.request

    data = None if json_body is None else json.dumps(json_body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    import random

    for _ in range(200):
        port = random.randint(20000, 40000)  # noqa: S311  (a port, not a secret)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a Redis Cluster node")


class PrivateRedisCluster:
    """A Redis Cluster of `size` primaries (`redis-server --cluster-enabled yes`) on free
    ports of 127.0.0.1, its 16384 slots split by `redis-cli --cluster create`; no
    persistence, its node files in `workdir`."""

    def __init__(self, workdir: Path, size: int = 3):
        self.workdir = Path(workdir)
        self.ports = [_free_cluster_port() for _ in range(size)]
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"
        self._procs: list[subprocess.Popen] = []

    def start(self) -> PrivateRedisCluster:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        for port in self.ports:
            self._procs.append(
                subprocess.Popen(
                    [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
                     "--cluster-enabled", "yes", "--cluster-node-timeout", "5000",
                     "--cluster-config-file", str(self.workdir / f"nodes-{port}.conf"),
                     "--dir", str(self.workdir)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        for port in self.ports:
            wait_until(lambda p=port: _answers(p), f"cluster node on {port}")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=WAIT_SECONDS,
        )  # fmt: skip
        wait_until(self._ready, "the cluster reports cluster_state:ok on every node")
        return self

    def _ready(self) -> bool:
        import redis

        for port in self.ports:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            try:
                if client.cluster("info").get("cluster_state") != "ok":
                    return False
            finally:
                client.close()
        return True

    def stop(self) -> None:
        for proc in self._procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=WAIT_SECONDS)
        self._procs = []
