"""`make run` stops cleanly: Ctrl-C (SIGINT to the terminal's process group) or TERM to
make ends the server, beat and the worker, sends the worker one TERM (warm shutdown; the
old `trap 'kill 0' ... TERM` re-entered itself and flooded it), escalates to QUIT (cold
shutdown) for a worker that does not stop, and leaves no process behind.

The real Makefile target runs, with stand-ins for `python` and `celery` (shell scripts
that log the signals they get) instead of the virtualenv's: no server, no broker.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.markers import require_program

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _make_installed():
    require_program("make", "the README's `make run` is what is tested", "apt-get install make")


CELERY_STUB = r"""#!/bin/bash
role=$3  # celery -A config worker|beat ...
echo "start $role" >> "$STUB_LOG"
on_term() {
  echo "TERM $role" >> "$STUB_LOG"
  if [ "$role" = worker ] && [ "${STUB_STUBBORN:-0}" = 1 ]; then return; fi
  exit 0
}
trap on_term TERM
trap 'echo "INT $role" >> "$STUB_LOG"; exit 0' INT
trap 'echo "QUIT $role" >> "$STUB_LOG"; exit 0' QUIT
(exec -a "$STUB_TAG-$role-pool" sleep 1000) &
while :; do sleep 0.1; done
"""

PYTHON_STUB = r"""#!/bin/bash
[ "$2" = runserver ] || exit 0  # migrate, seed_demo, collectstatic
echo "start server" >> "$STUB_LOG"
trap 'echo "TERM server" >> "$STUB_LOG"; exit 0' TERM
(exec -a "$STUB_TAG-server-reloader-child" sleep 1000) &
while :; do sleep 0.1; done
"""


def _stubs(tmp_path: Path) -> dict:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name, text in (("celery", CELERY_STUB), ("python", PYTHON_STUB)):
        path = venv / "bin" / name
        path.write_text(text)
        path.chmod(0o755)
    stamp = tmp_path / "stamp"
    stamp.touch()
    return {"venv": venv, "stamp": stamp, "log": tmp_path / "signals.log"}


def _ours(tag: str) -> list[str]:
    """Processes still running with our tag or our stand-ins in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if tag in cmdline and state != "Z":
            found.append(f"{entry.name} {cmdline}")
    return found


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _start(tmp_path, **env_extra):
    stubs = _stubs(tmp_path)
    tag = f"dimstub{os.getpid()}x{tmp_path.name}"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "STUB_LOG": str(stubs["log"]),
        "STUB_TAG": tag,
        **env_extra,
    }

    def as_a_terminal_would():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgid(0, 0)

    make = subprocess.Popen(
        [
            "make", "--no-print-directory", "run", "PORT=8999",
            f"VENV={stubs['venv']}", f"PY={stubs['venv']}/bin/python", f"STAMP={stubs['stamp']}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=as_a_terminal_would,
    )  # fmt: skip
    log = stubs["log"]

    def started():
        text = log.read_text() if log.exists() else ""
        return all(f"start {r}" in text for r in ("worker", "beat", "server"))

    assert _wait_for(started, 30), make.stdout.read1().decode() if make.poll() else "not started"
    return make, log, tag


def _finish(make, tag, seconds=40):
    try:
        make.wait(timeout=seconds)
    finally:
        left = _ours(tag)
        for line in left:
            os.kill(int(line.split()[0]), signal.SIGKILL)
    return left


def test_make_run_ctrl_c_stops_everything_with_one_term_each(tmp_path):
    make, log, tag = _start(tmp_path)
    time.sleep(0.3)
    os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
    left = _finish(make, tag)
    signals = log.read_text().splitlines()
    assert left == [], left
    assert signals.count("TERM worker") == 1, signals
    assert "QUIT worker" not in signals


def test_make_run_term_to_make_stops_everything(tmp_path):
    make, log, tag = _start(tmp_path)
    make.terminate()  # a process manager stopping make alone
    left = _finish(make, tag)
    assert left == [], left
    assert log.read_text().splitlines().count("TERM worker") == 1


def test_make_run_stuck_worker_gets_cold_shutdown(tmp_path):
    make, log, tag = _start(tmp_path, STUB_STUBBORN="1", STOP_TIMEOUT="1")
    os.killpg(make.pid, signal.SIGINT)
    left = _finish(make, tag)
    signals = log.read_text().splitlines()
    assert left == [], left
    assert signals.count("TERM worker") == 1 and "QUIT worker" in signals, signals
