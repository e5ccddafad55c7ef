"""Second process of the `sessions.propagation` row: validates tokens in a loop on a
real session view (Redis listener) and reports each refusal with its wall-clock time.

stdin: one JSON line {"tokens": [...]}; stdout: "ready", then "<session id> <reason>
<unix time>" per refused token.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    os.environ["SESSION_FASTPATH_LISTENER"] = "1"
    os.environ["SESSION_RESYNC_SECONDS"] = "3600"  # measure pub/sub, not the resync
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from sessions_mgr.fastpath import ensure_listener, get_view
    from sessions_mgr.tokens import TokenError, parse
    from sessions_mgr.validation import validate

    tokens = json.loads(sys.stdin.readline())["tokens"]
    ensure_listener()
    deadline = time.monotonic() + 20
    while not get_view().healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    for token in tokens:
        validate(token)
    print("ready", flush=True)
    live = {parse(t).session_id: t for t in tokens}
    deadline = time.monotonic() + 120
    while live and time.monotonic() < deadline:
        for sid, token in list(live.items()):
            try:
                validate(token)
            except TokenError as exc:
                print(f"{sid} {exc.reason} {time.time():.6f}", flush=True)
                del live[sid]
        time.sleep(0.0002)
    return 0 if not live else 1


if __name__ == "__main__":
    sys.exit(main())
