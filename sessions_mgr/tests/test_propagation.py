import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sessions_mgr.actions import do_revoke_session
from tenancy.context import tenant_context
from tests.markers import redis_only

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db,
    redis_only(
        "cross-process revocation travels over Redis pub/sub; the embedded default "
        "validates against the database instead (test_validate_degraded_reads_database)"
    ),
]


def test_propagation_revocation_refused_in_other_process(make_session, alpha_owner, tenant_alpha):
    session, token = make_session()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    peer = subprocess.Popen(
        [sys.executable, "-m", "sessions_mgr.tests.peer_process"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        peer.stdin.write(json.dumps({"token": token, "user_id": alpha_owner.pk}) + "\n")
        peer.stdin.flush()
        assert peer.stdout.readline().strip() == "ready"  # valid there before
        with tenant_context(tenant_alpha):
            do_revoke_session(session.pk)
        line = peer.stdout.readline().strip()
        assert line.startswith("refused revoked"), line
        assert peer.wait(timeout=10) == 0
    finally:
        if peer.poll() is None:
            peer.kill()
