"""A second process for the propagation test and the bench: a real session view with
its Redis listener, validating one token until it is refused.

    python -m sessions_mgr.tests.peer_process   (stdin: one JSON line; stdout: events)

The test's session rows live in an uncommitted transaction of the parent, so the parent
passes what this process would otherwise load from the database once (the live entry);
everything after that (revocation) reaches this process only through Redis.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ["SESSION_FASTPATH_LISTENER"] = "1"
    os.environ["SESSION_RESYNC_SECONDS"] = "3600"  # prove pub/sub, not the resync
    import django

    django.setup()
    from sessions_mgr import fastpath, keys
    from sessions_mgr.fastpath import LiveEntry
    from sessions_mgr.tokens import TokenError, parse
    from sessions_mgr.validation import validate

    job = json.loads(sys.stdin.readline())
    parsed = parse(job["token"])
    keys._states[parsed.tenant_id] = (time.monotonic() + 1e9, keys.SessionKeyVersions())
    view = fastpath.get_view()
    view.resync = lambda: None  # the test database's rows are not visible from here
    fastpath.ensure_listener()
    deadline = time.monotonic() + 10
    while not view.healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    now = time.time()
    view.live[parsed.session_id] = LiveEntry(
        tenant_id=parsed.tenant_id, user_id=job["user_id"], user=None, level=parsed.level,
        session_type="user", ip=None, user_agent="", idle_seconds=3600, binding="none",
        last_seen=now, last_written=now + 1e9, first_request=now,
    )  # fmt: skip
    validate(job["token"])
    print("ready", flush=True)
    deadline = time.monotonic() + job.get("timeout", 10)
    while time.monotonic() < deadline:
        try:
            validate(job["token"])
        except TokenError as exc:
            print(f"refused {exc.reason} {time.time():.6f}", flush=True)
            return 0
        time.sleep(0.0005)
    print("still-valid", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
