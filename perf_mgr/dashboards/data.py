"""What the three dashboards draw, as plain data, for a list of tenants (each read in
its own tenant context, so every query is scoped by the ORM and row-level security).
Read only: nothing here writes (a view and its GET never do)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from perf_mgr import query
from perf_mgr.collectors import last_queue_depths
from perf_mgr.dashboards.insights import insights_data
from perf_mgr.models import now_us
from perf_mgr.models.alerting import (
    AlertNotification,
    AlertState,
    AlertStatus,
    DeliveryStatus,
    Transition,
)
from tenancy import hooks
from tenancy.context import tenant_context
from tenancy.health import dependency_states
from tenancy.models import Membership

REQUESTS = "http_request_duration_seconds"
TASKS = "celery_task_duration_seconds"
PERFORMANCE_HOURS = 24
PERFORMANCE_STEP_S = 900  # 15-minute points: 96 over the day
BUSINESS_DAYS = 7
DEPLOYMENT_DAYS = 30
US = 1_000_000


def _at(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / US, tz=dt.UTC)


def _firings(since: dt.datetime, prefix: str) -> list[dict]:
    """Alert firings since `since` of the tenant in context: each state's last firing,
    and the earlier ones its notifications remember (one per alert and minute)."""
    seen, out = set(), []

    def add(fingerprint, at, rule, severity):
        key = (fingerprint, at.replace(second=0, microsecond=0))
        if key not in seen:
            seen.add(key)
            out.append({"at": at, "rule": f"{prefix}{rule}", "severity": severity})

    for state in AlertState.objects.filter(fired_at__gte=since).select_related("rule"):
        add(state.fingerprint, state.fired_at, state.rule.name, state.rule.severity)
    for fingerprint, at, rule, severity in (
        AlertNotification.objects.filter(transition=Transition.FIRING, created_at__gte=since)
        .order_by("created_at")
        .values_list("fingerprint", "created_at", "rule_name", "severity")
    ):
        add(fingerprint, at, rule, severity)
    return sorted(out, key=lambda f: f["at"])


def performance_data(tenants: list, everyone: bool = False) -> dict:
    """Requests of the last day in 15-minute points: p50/p95/p99 latency (seconds),
    requests and 5xx answers per point, and the alert firings of the day."""
    end = now_us()
    win = query.make_window(end - PERFORMANCE_HOURS * 3600 * US, end, PERFORMANCE_STEP_S, end)
    merged: dict[int, query.Agg] = defaultdict(query.Agg)
    errors: dict[int, int] = defaultdict(int)
    firings = []
    for tenant in tenants:
        with tenant_context(tenant):
            found = query.find_series(REQUESTS)
            failing = {s.id for s in found if s.labels.get("status") == "5xx"}
            for (series_id, index), agg in query.collect(found, win).items():
                merged[index].merge(agg)
                if series_id in failing:
                    errors[index] += agg.count
            prefix = f"{tenant.slug}: " if everyone else ""
            firings.extend(_firings(_at(win.since_us), prefix))
    points = []
    for index in sorted(merged):
        agg = merged[index]
        p50, p95, p99 = agg.quantiles([0.5, 0.95, 0.99])
        points.append(
            {
                "at": _at(win.bucket_start(index)),
                "count": agg.count,
                "errors": errors.get(index, 0),
                "p50": p50,
                "p95": p95,
                "p99": p99,
            }
        )
    return {
        "since": _at(win.since_us),
        "until": _at(end),
        "step_s": PERFORMANCE_STEP_S,
        "insights": insights_data(tenants, everyone, _at(win.since_us)),
        "points": points,
        "firings": sorted(firings, key=lambda f: f["at"]),
        "requests": sum(p["count"] for p in points),
        "errors": sum(p["errors"] for p in points),
    }


def _api_days(win) -> dict[dt.date, int]:
    """API requests per day of the tenant in context (views of the /api/v1/ namespace)."""
    found = [s for s in query.find_series(REQUESTS) if s.labels.get("view", "").startswith("v1:")]
    days: dict[dt.date, int] = defaultdict(int)
    for (_sid, index), agg in query.collect(found, win).items():
        days[_at(win.bucket_start(index)).date()] += agg.count
    return dict(days)


def business_data(tenants: list, everyone: bool = False) -> dict:
    """Per tenant and day of the last week: what the features report through
    `tenancy.hooks.tenant_activity` (active users, sessions, records) and the tenant's
    API requests; members and totals as they are now."""
    now = timezone.now()
    first = (now - dt.timedelta(days=BUSINESS_DAYS - 1)).astimezone(dt.UTC).date()
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    win = query.make_window(int(since.timestamp() * US), now_us(), 86400, now_us())
    days = [first + dt.timedelta(days=i) for i in range(BUSINESS_DAYS)]
    series: dict[str, dict] = {}  # key -> {"label", "by_tenant": {name: {day: n}}}
    totals: dict[str, dict] = defaultdict(dict)  # key -> {tenant name: total}
    members = {}
    for tenant in tenants:
        name = tenant.slug
        with tenant_context(tenant):
            counts = [c for found in hooks.tenant_activity.call(since, now) for c in found]
            counts.append(hooks.ActivityCount("api", _("API requests"), _api_days(win)))
            # Memberships are platform rows (they resolve a request's tenant): by tenant.
            members[name] = Membership.objects.filter(tenant=tenant).count()
        for count in counts:
            entry = series.setdefault(count.key, {"label": count.label, "by_tenant": {}})
            entry["by_tenant"][name] = {d: n for d, n in count.days.items() if n}
            if count.total is not None:
                totals[count.key][name] = count.total
    return {
        "since": since,
        "until": now,
        "days": days,
        "series": series,
        "totals": dict(totals),
        "members": members,
        "everyone": everyone,
    }


def _workers(depths: dict | None) -> dict:
    """The beat's queue sampler runs on a worker every PERFORMANCE_MONITORING_INTERVAL:
    its last sample is the workers' heartbeat (no broadcast to the workers from a page)."""
    interval = float(settings.PERFORMANCE_MONITORING_INTERVAL)
    if not depths or "at" not in depths:
        return {"state": "unknown", "age_s": None, "interval_s": interval}
    age = max(time.time() - float(depths["at"]), 0.0)
    return {"state": "ok" if age <= 3 * interval else "stale", "age_s": age, "interval_s": interval}


def operations_data(tenants: list, everyone: bool = False) -> dict:
    """The platform's health, queues and workers (no tenant data), and per tenant: task
    runs of the last day per hour and state, firing alerts, deployments of keys and
    models (`tenancy.hooks.recent_deployments`) of the last 30 days."""
    now = timezone.now()
    end = now_us()
    win = query.make_window(end - PERFORMANCE_HOURS * 3600 * US, end, 3600, end)
    tasks: dict[str, dict] = defaultdict(lambda: defaultdict(int))  # state -> {hour: n}
    firing, deployments = [], []
    since = now - dt.timedelta(days=DEPLOYMENT_DAYS)
    for tenant in tenants:
        prefix = tenant.slug if everyone else ""
        with tenant_context(tenant):
            found = query.find_series(TASKS)
            state = {s.id: s.labels.get("state", "") for s in found}
            for (series_id, index), agg in query.collect(found, win).items():
                tasks[state[series_id]][_at(win.bucket_start(index))] += agg.count
            for alert in (
                AlertState.objects.filter(status=AlertStatus.FIRING)
                .select_related("rule")
                .order_by("fired_at")
            ):
                firing.append(
                    {
                        "tenant": prefix,
                        "rule": alert.rule.name,
                        "severity": alert.rule.severity,
                        "labels": alert.labels,
                        "value": alert.value,
                        "since": alert.fired_at,
                    }
                )
            for found_list in hooks.recent_deployments.call(since):
                for item in found_list:
                    deployments.append({"tenant": prefix, "item": item})
    depths = last_queue_depths()
    return {
        "since": since,
        "until": now,
        "health": dependency_states(),
        "queues": (depths or {}).get("depths") or {},
        "queues_at": _at(int(depths["at"] * US)) if depths and "at" in depths else None,
        "workers": _workers(depths),
        "tasks": {s: dict(hours) for s, hours in tasks.items()},
        "firing": firing,
        "deployments": deployments,
        "backlog": _backlog(tenants),
    }


def _backlog(tenants) -> int:
    total = 0
    for tenant in tenants:
        with tenant_context(tenant):
            pending = AlertNotification.objects.filter(status=DeliveryStatus.PENDING)
            total += pending.aggregate(n=Count("pk"))["n"]
    return total
