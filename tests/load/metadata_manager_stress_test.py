"""The seed's metadata stress test against a running server:

    python tests/load/metadata_manager_stress_test.py --duration=300 [--concurrent=20]
        [--url http://127.0.0.1:8000] [--tenant acme --user acme-owner --password ...]

Each virtual user creates records (`POST /metadata/create`, the seed's body), reads them
back, updates one in five (a new version) and lists the tenant's records, until
--duration seconds have passed; then prints throughput, p50/p95/p99 and errors, and
exits 1 if the error rate exceeds --max-error-rate.
"""

from __future__ import annotations

import itertools
import sys
import uuid

from loadlib import main, timed

RECORDS = "/api/v1/metadata/records/"


async def setup(client, stats, index):
    return {"mine": [], "n": itertools.count(), "user": index}


async def operation(client, state, stats):
    step = next(state["n"])
    if step % 4 == 0 or not state["mine"]:
        body = {
            "metadata_type": "schema",
            "schema_name": f"stress-{state['user']}-{uuid.uuid4().hex[:10]}",
            "content": {"fields": [{"name": "id", "type": "int"}], "step": step},
            "tags": ["stress"],
        }
        response = await timed(stats, "create", client.post("/metadata/create", json=body))
        if response is not None:
            state["mine"].append(response.json()["id"])
        return
    record = state["mine"][step % len(state["mine"])]
    if step % 4 == 1:
        await timed(stats, "read", client.get(f"{RECORDS}{record}/"))
    elif step % 4 == 2:
        content = {"fields": [{"name": "id", "type": "int"}], "step": step}
        await timed(stats, "update", client.patch(f"{RECORDS}{record}/", json={"content": content}))
    else:
        await timed(stats, "list", client.get(RECORDS, params={"tag": "stress"}))


if __name__ == "__main__":
    sys.exit(
        main(
            "Metadata manager stress test (the seed's).",
            setup,
            operation,
            concurrent=20,
            duration=60.0,
        )
    )
