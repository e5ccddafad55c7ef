"""The seed's session load test against a running server:

    python tests/load/session_manager_load_test.py --concurrent=1000 [--duration=60]
        [--url http://127.0.0.1:8000] [--tenant acme --user acme-owner --password ...]

Each virtual user opens its own session (`POST /sessions/create`, as the seed's API
names it) and then validates it (`GET /sessions/<id>/validate` with its Bearer token,
the hot path) in a loop; one call in twenty refreshes it instead. Stops by itself after
--duration seconds or --requests requests, prints throughput, p50/p95/p99 and errors,
and exits 1 if the error rate exceeds --max-error-rate.
"""

from __future__ import annotations

import itertools
import sys

from loadlib import main, timed


async def setup(client, stats, index):
    response = await timed(
        stats, "create", client.post("/sessions/create", json={"security_level": "standard"})
    )
    if response is None:
        return None
    body = response.json()
    return {"id": body["id"], "token": body["token"], "n": itertools.count()}


async def operation(client, state, stats):
    headers = {"Authorization": f"Bearer {state['token']}"}
    if next(state["n"]) % 20 == 19:
        response = await timed(
            stats,
            "refresh",
            client.post(f"/api/v1/sessions/{state['id']}/refresh/", headers=headers),
        )
        if response is not None and "token" in response.json():
            state["token"] = response.json()["token"]
        return
    await timed(stats, "validate", client.get(f"/sessions/{state['id']}/validate", headers=headers))


if __name__ == "__main__":
    sys.exit(main("Session manager load test (the seed's).", setup, operation, concurrent=100))
