"""A process that never imports a tasks module itself (a web server, a shell, the
bench) must still know the tasks that actions send by name from there (beat sends its
schedule by name and needs nothing registered): otherwise every
`sequence_soon` fails to send and entries wait for beat's sweep. The pytest process
imports every module, so this runs in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import django
django.setup()
from celery import current_app
from audit_mgr import sequencer
from jobs_mgr.actions import RUN_JOB_TASK
names = {sequencer.SEQUENCE_TASK, sequencer.SEQUENCE_PLATFORM_TASK, RUN_JOB_TASK}
print(sorted(name for name in names if name not in current_app.tasks))
"""


def test_task_registry_a_fresh_process_knows_every_task_sent_by_name():
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings_test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
