"""Second process of the `security.key_invalidation` row: decrypts one ciphertext per
subject ring in a loop, on a real key-ring cache with its Redis listener, and reports
each refusal with its wall-clock time.

stdin: one JSON line {"tenant_id": N, "items": [[subject, envelope b64, aad b64], ...]};
stdout: "ready", then "<subject> <exception> <unix time>" per refused ciphertext.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time


def main() -> int:
    os.environ["SECURITY_KEY_CACHE_SECONDS"] = "3600"  # measure pub/sub, not the TTL
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from security_mgr import invalidation, keyring
    from security_mgr.exceptions import CryptoError
    from tenancy.context import TenantRef, tenant_context

    job = json.loads(sys.stdin.readline())
    items = {s: (base64.b64decode(e), base64.b64decode(a)) for s, e, a in job["items"]}
    invalidation.ensure_listener()
    deadline = time.monotonic() + 20
    while not invalidation.listener.healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    if not invalidation.listener.healthy:
        print("listener-unhealthy", flush=True)
        return 1
    with tenant_context(TenantRef(job["tenant_id"], "bench-peer")):
        for subject, (envelope, aad) in items.items():
            keyring.decrypt(envelope, aad, subject)  # loads the ring from the database
        print("ready", flush=True)
        deadline = time.monotonic() + 120
        while items and time.monotonic() < deadline:
            for subject, (envelope, aad) in list(items.items()):
                try:
                    keyring.decrypt(envelope, aad, subject)
                except CryptoError as exc:
                    print(f"{subject} {type(exc).__name__} {time.time():.6f}", flush=True)
                    del items[subject]
            time.sleep(0.0002)
    return 0 if not items else 1


if __name__ == "__main__":
    sys.exit(main())
