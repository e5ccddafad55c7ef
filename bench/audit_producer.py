"""A producer process of the `security.audit_append` row: audited transactions of one
entry each, as fast as it can, for the given seconds.

stdin: {"tenant_id": N, "seconds": S, "mode": "ours" | "plain"}, then "go";
stdout: "ready", then the number of entries committed.

`ours`: `with transaction.atomic(): audit.append(...)` in deferred mode; the sequencing
task it asks for once a second goes to an in-process broker that nobody consumes (in a
deployment a worker elsewhere takes it; in the bench the bench process sequences).
`plain`: the same transaction inserting the same row into an append-only table.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["SECURITY_AUDIT_SEQUENCING"] = "deferred"
    import django

    django.setup()
    from django.db import connection, transaction

    import audit_mgr as audit
    from bench.broker import tasks_to_unconsumed_broker
    from tenancy.context import TenantRef, tenant_context

    job = json.loads(sys.stdin.readline())
    ref = TenantRef(job["tenant_id"], "bench")
    plain_sql = (
        "INSERT INTO bench_plain_audit (tenant_id, event, actor, at_us, payload) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id"
    )
    count = 0
    with tasks_to_unconsumed_broker(), tenant_context(ref):
        connection.ensure_connection()
        print("ready", flush=True)
        sys.stdin.readline()
        end = time.monotonic() + job["seconds"]
        while time.monotonic() < end:
            with transaction.atomic():
                if job["mode"] == "ours":
                    audit.append("bench.event", {"i": count, "note": "x" * 40}, actor="bench")
                else:
                    payload = json.dumps({"i": count, "note": "x" * 40})
                    with connection.cursor() as cursor:
                        cursor.execute(plain_sql, [ref.id, "bench.event", "bench", 0, payload])
            count += 1
    print(count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
