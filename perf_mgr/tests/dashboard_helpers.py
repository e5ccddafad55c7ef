"""Activity in two tenants for the dashboard tests (server side and in the browser):
the same kinds of rows in alpha and beta, beta's bigger and named apart, so a figure of
beta on alpha's page shows."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from metadata_mgr import actions as metadata_actions
from perf_mgr import store
from perf_mgr.models import MINUTE_US, AlertRule, AlertState, now_us
from security_mgr import actions as key_actions
from sessions_mgr.actions import do_create_session
from tenancy.context import tenant_context

REQUESTS = "http_request_duration_seconds"
# (2xx requests, 5xx requests, latency s, sessions, records, rotations, rule name)
SHAPE = {
    "alpha": (6, 1, 0.040, 1, 2, 1, "alpha_latency_rule"),
    "beta": (9, 4, 0.900, 3, 5, 3, "beta_only_rule_x91"),
}
BETA_ONLY = ("beta_only_rule_x91", "beta", "Beta GmbH")


def seed_activity(tenant, user) -> dict:
    ok, failed, latency, sessions, records, rotations, rule_name = SHAPE[tenant.slug]
    now = now_us()
    at = now - now % MINUTE_US - 10 * MINUTE_US
    rows = []
    for status, n in (("2xx", ok), ("5xx", failed)):
        labels = (("method", "GET"), ("status", status), ("view", "v1:sessions"))
        rows += [(REQUESTS, labels, "system", latency, at) for _ in range(n)]
    rows.append(
        ("celery_task_duration_seconds", (("state", "success"), ("task", "t")), "system", 1.0, at)
    )
    fired = timezone.now() - dt.timedelta(minutes=5)
    with tenant_context(tenant):
        store.write(rows)
        rule = AlertRule.objects.create(name=rule_name, condition=f"{REQUESTS}_p95 > 100ms")
        AlertState.objects.create(
            rule=rule, fingerprint="f" * 32, status="firing", value=latency, fired_at=fired
        )
        for i in range(records):
            metadata_actions.do_create_record(
                metadata_type="schema", content={"i": i}, name=f"{tenant.slug}-rec-{i}"
            )
        for _ in range(rotations):
            key_actions.rotate_key(reason="dashboard test")
    for _ in range(sessions):
        do_create_session(tenant_id=tenant.pk, user_id=user.pk, ip="192.0.2.10")
    return {"requests": ok + failed, "errors": failed, "rule": rule_name}
