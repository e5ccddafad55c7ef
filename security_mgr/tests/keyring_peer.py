"""A second process for the key-ring invalidation test: a real key-ring cache with its
Redis listener, decrypting one ciphertext until it is refused.

    python -m security_mgr.tests.keyring_peer   (stdin: one JSON line; stdout: events)

The test's rows live in an uncommitted transaction of the parent, so the parent passes
what this process would otherwise load from the database once (the ring's limits and
the unwrapped data key); everything after that reaches this process only through Redis.
Once the message drops the entry, the reload cannot see the parent's ring and refuses:
the refusal and the counters printed with it show that the message did it (the cache
TTL is an hour here, and a resubscription would show in `subscriptions`).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ["SECURITY_KEY_CACHE_SECONDS"] = "3600"  # prove pub/sub, not the TTL
    import django

    django.setup()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from security_mgr import invalidation, keyring
    from security_mgr.exceptions import CryptoError
    from tenancy.context import TenantRef, tenant_context

    job = json.loads(sys.stdin.readline())
    tenant_id, subject, version = job["tenant_id"], job["subject"], job["version"]
    envelope = base64.b64decode(job["envelope"])
    aad = base64.b64decode(job["aad"])
    invalidation.ensure_listener()
    deadline = time.monotonic() + 10
    while not invalidation.listener.healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    if not invalidation.listener.healthy:
        print("listener-unhealthy", flush=True)
        return 1
    entry = keyring._Ring(version, 1, 1, False, time.monotonic())
    entry.keys[version] = AESGCM(base64.b64decode(job["key"]))
    keyring._cache[(tenant_id, subject) if subject else tenant_id] = entry
    with tenant_context(TenantRef(tenant_id, "peer")):
        keyring.decrypt(envelope, aad, subject)
        print("ready", flush=True)
        deadline = time.monotonic() + job.get("timeout", 10)
        while time.monotonic() < deadline:
            try:
                keyring.decrypt(envelope, aad, subject)
            except CryptoError as exc:
                stats = invalidation.stats
                print(
                    f"refused {type(exc).__name__} applied={stats['messages_applied']} "
                    f"subscriptions={stats['subscriptions']}",
                    flush=True,
                )
                return 0
            time.sleep(0.001)
    print("still-readable", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
