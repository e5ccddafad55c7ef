"""Alerting rows (issue 14): one evaluation cycle of 1,000 rules over 100 tenants, and
the delay of a quiet tenant's notification while another tenant floods the outbox."""

from __future__ import annotations

import random
import time

from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from bench.harness import Goal, Outcome, register
from perf_mgr import store
from perf_mgr.alerting import delivery, evaluator, outbox, rules
from perf_mgr.models import (
    AlertChannel,
    AlertNotification,
    AlertRule,
    AlertState,
    MetricRollup,
    MetricSample,
    MetricSeries,
    now_us,
)
from tenancy.context import tenant_context
from tenancy.models import Tenant

CONDITIONS = [
    "session_creation_time_p95 > 100ms",
    "session_creation_time_p99 > 1s",
    "avg(session_creation_time[5m]) > 50ms",
    'p95(session_creation_time{region="eu"}[5m]) by (tier) > 80ms',
    "rate(session_creation_time[5m]) > 0.5",
    "absent(session_creation_time[10m])",
    'threat_level == "high"',
    "max(session_creation_time[15m]) > 2s or session_creation_time_avg > 1s",
    "count(session_creation_time[5m]) > 10 and session_creation_time_p50 > 10ms",
    "http_request_duration_seconds_p95 > 500ms",
]


def _clean(tenant) -> None:
    with tenant_context(tenant), transaction.atomic():
        for model in (AlertNotification, AlertState, AlertRule, AlertChannel):
            model.objects.all().delete()
        for model in (MetricSample, MetricRollup, MetricSeries):
            model.objects.all().delete()


def _load(count: int) -> list[Tenant]:
    tenants = []
    rng = random.Random(11)
    end = now_us()
    for n in range(count):
        tenant, _ = Tenant.objects.get_or_create(
            slug=f"bench-alerts-{n:03d}", defaults={"name": f"bench alerts {n}"}
        )
        _clean(tenant)
        with tenant_context(tenant):
            samples = [
                (
                    "session_creation_time",
                    (("region", rng.choice(["eu", "us"])), ("tier", rng.choice(["a", "b"]))),
                    "performance",
                    rng.lognormvariate(-2.5, 0.8),
                    end - rng.randint(1, 280) * 1_000_000,
                )
                for _ in range(200)
            ]
            samples.append(("threat_level", (), "custom", float(rng.randint(1, 3)), end - 10**6))
            store.write(samples)
            AlertChannel.objects.create(name="ops", kind="email", target="ops@bench.example")
            for i, condition in enumerate(CONDITIONS):
                spec = rules.validate_rule(
                    {"name": f"rule-{i}", "condition": condition, "severity": "warning"}
                )
                AlertRule.objects.create(**vars(spec))
        tenants.append(tenant)
    return tenants


def _cycle(tenants, now) -> float:
    started = time.perf_counter()
    for tenant in tenants:
        with tenant_context(tenant):
            evaluator.evaluate_tenant(now)
    return time.perf_counter() - started


def _reads_only(tenants, now) -> float:
    """The peer: the same rules' metric reads alone (no parse, no state, no outbox)."""
    now_at = int(now.timestamp() * 1e6)
    started = time.perf_counter()
    for tenant in tenants:
        with tenant_context(tenant):
            known = rules.known_metrics()
            for rule in AlertRule.objects.all():
                ast = rules.compile_condition(rule.condition, known)
                evaluator.Evaluation(now_at).truth(ast)
    return time.perf_counter() - started


@register(
    "perf.alerts",
    title="Alert evaluation: 1,000 rules over 100 tenants in one cycle",
    ours="beat's cycle: per tenant `evaluate_tenant()`: rules parsed, metrics read through "
    "perf_mgr.query, states moved in one transaction per rule, outbox rows written",
    peer="the same rules' metric reads alone (parse + query.evaluate, no state, no outbox)",
    goal=Goal(30.0, "seconds per steady cycle (≤ the 30 s evaluation interval)"),
)
def alerts_row(ctx):
    count = ctx.iters(100, 20)
    tenants = _load(count)
    now = timezone.now()
    with override_settings(ALERTING_GROUP_WAIT_S=0.0):  # notifications due at once
        first = _cycle(tenants, now)  # transitions: pending/firing, notifications written
    steady = _cycle(tenants, now)
    peer = _reads_only(tenants, now)
    firing = notifications = 0
    for tenant in tenants:
        with tenant_context(tenant):
            firing += AlertState.objects.filter(status="firing").count()
            notifications += AlertNotification.objects.count()
    # Fairness: the first tenant floods (its notifications plus 5,000 more), the last has
    # one; one delivery round in fan-out order, flooder first.
    flooder, quiet = tenants[0], tenants[-1]
    with tenant_context(flooder):
        channel = AlertChannel.objects.get()
        AlertNotification.objects.bulk_create(
            AlertNotification(
                channel=channel,
                idempotency_key=outbox.idempotency_key("f" * 32, i, "firing"),
                fingerprint="f" * 32,
                transition="firing",
                rule_name="flood",
                severity="warning",
                payload={
                    "alert": "flood",
                    "status": "firing",
                    "severity": "warning",
                    "condition": "x",
                },
            )
            for i in range(5000)
        )
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        started = time.perf_counter()
        quiet_delay = None
        for tenant in (flooder, *tenants[1:]):
            with tenant_context(tenant):
                delivery.deliver_due()
                if tenant == quiet:
                    quiet_delay = time.perf_counter() - started
                    sent = AlertNotification.objects.filter(status="delivered").count()
                    assert sent == AlertNotification.objects.count(), "quiet tenant not served"
    for tenant in tenants:
        _clean(tenant)
    return Outcome(
        value=steady,
        ours_text=f"{steady:.2f} s per steady cycle ({first:.2f} s for the first, with "
        f"{firing} firing alerts and {notifications} notifications written)",
        peer_text=f"{peer:.2f} s",
        notes=(
            f"{count * len(CONDITIONS)} rules over {count} tenants; ratio ours/peer "
            f"{steady / peer:.2f}×; quiet tenant's notification delivered "
            f"{quiet_delay:.2f} s into the delivery round while the first tenant had "
            f"5,000+ waiting (ALERTING_DELIVERY_BATCH per tenant and run)",
        ),
    )
