"""The security dashboard in a real browser: headless Chromium signs in through the
console's login form, opens /console/security/ from the live console, and waits for
Plotly to draw every chart. Tenants alpha and beta hold the same kinds of data (events
of the same type and severity, key rings, audit logs with heads and verifications);
beta's own values (its sources, event types, sizes) never reach alpha's staff, neither
in the page nor in the charts' data."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr.models import AuditLogHead, SecurityEvent, SignedTreeHead
from audit_mgr.tasks import verify_audit_task
from security_mgr import actions
from tenancy.context import tenant_context
from tenancy.models import Membership, Role
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

CHARTS = ("events", "severity", "sources", "keys", "audit")
HOUR_MS = 3_600_000

# (type, severity, source, action, how many, hours ago): brute force from one source
# in both tenants, with different sources and counts.
EVENTS = {
    "alpha": [
        ("brute_force", "medium", "192.0.2.1", "temporary_block", 3, 2),
        ("session_anomaly", "high", "192.0.2.7", "", 1, 26),
    ],
    "beta": [
        ("brute_force", "medium", "198.51.100.2", "temporary_block", 5, 2),
        ("credential_stuffing", "critical", "198.51.100.2", "temporary_block", 1, 3),
        ("cross_tenant_probe", "low", "198.51.100.9", "temporary_block", 2, 30),
    ],
}
BETA_ONLY = ("198.51.100.", "beta", "Beta GmbH", "credential_stuffing", "cross_tenant_probe")

# Every chart drawn: an SVG with one group per trace, and bars in it.
DRAWN = """
return arguments[0].every((id) => {
  const gd = document.getElementById(id);
  return gd && gd._fullLayout && gd.data && gd.data.length > 0
    && gd.querySelector("svg.main-svg")
    && gd.querySelectorAll(".barlayer .trace").length === gd.data.length;
});
"""
CHART_DATA = """
return arguments[0].map((id) => {
  const gd = document.getElementById(id);
  const axis = gd._fullLayout.xaxis;
  const bar = gd.querySelector(".barlayer .point path");
  return {
    id: id,
    title: gd.layout.title.text,
    traces: gd.data.map((t) => ({name: t.name || "", x: Array.from(t.x), y: Array.from(t.y)})),
    json: JSON.stringify(gd.data) + JSON.stringify(gd.layout),
    svgs: gd.querySelectorAll("svg.main-svg").length,
    bars: gd.querySelectorAll(".barlayer .point path").length,
    xspan_ms: axis.type === "date" ? axis.r2l(axis.range[1]) - axis.r2l(axis.range[0]) : null,
    bar_px: bar ? bar.getBBox().width : 0,
    plot_px: gd._fullLayout._size.w,
  };
});
"""


def _record(n: int) -> None:
    for i in range(n):
        audit_actions.record_event("dashboard.test", {"i": i})


@pytest.fixture
def overlapping_activity(tenant_alpha, tenant_beta):
    """Events, key rings and audit logs in both tenants; beta's are bigger everywhere."""
    now = timezone.now()
    shape = {tenant_alpha: (1, 2, 1), tenant_beta: (3, 6, 4)}  # rotations, entries, left pending
    for tenant, (rotations, entries, pending) in shape.items():
        with tenant_context(tenant):
            for type_, severity, source, action, count, hours in EVENTS[tenant.slug]:
                for _ in range(count):
                    SecurityEvent.objects.create(
                        type=type_,
                        severity=severity,
                        source=source,
                        action=action,
                        actor="mallory",
                        created_at=now - dt.timedelta(hours=hours),
                    )
            for _ in range(rotations):
                actions.rotate_key(reason="dashboard")
            _record(entries)
            audit_actions.sign_tree_head()
            assert verify_audit_task()["ok"]
            _record(pending)  # waits for the sequencer (nothing commits in a test)


def _audit_state(tenant) -> dict:
    """What the table should show for `tenant`, read from the log's own tables."""
    with tenant_context(tenant):
        log = audit.tenant_log(tenant.pk)
        verified = log.entries().filter(event="audit.verified").order_by("-seq").first()
        return {
            "entries": AuditLogHead.objects.get().size,
            "pending": log.pending().count(),
            "head": SignedTreeHead.objects.order_by("-tree_size").first().tree_size,
            "verified_entries": json.loads(verified.data)["payload"]["entries"],
        }


def test_browser_dashboard_draws_only_the_tenants_figures(
    console, overlapping_activity, alpha_owner, tenant_alpha, tenant_beta
):
    console.login("alice", PASSWORD, next_path="/console/security/")
    console.wait_for_path("/console/security/")
    ids = [f"chart-{name}" for name in CHARTS]
    console.wait(lambda d: d.execute_script(DRAWN, ids), "Plotly did not draw every chart")

    charts = {
        c["id"].removeprefix("chart-"): c for c in console.driver.execute_script(CHART_DATA, ids)
    }
    for name, chart in charts.items():
        assert chart["svgs"] >= 1 and chart["bars"] >= 1, (name, chart)

    def totals(name, *, by_name=False, horizontal=False):
        out = {}
        for trace in charts[name]["traces"]:
            if by_name:
                out[trace["name"]] = sum(trace["y"])
            else:
                labels, values = (
                    (trace["y"], trace["x"]) if horizontal else (trace["x"], trace["y"])
                )
                out.update(zip(labels, values, strict=True))
        return out

    assert totals("events", by_name=True) == {"brute_force": 3, "session_anomaly": 1}
    assert totals("severity") == {"medium": 3, "high": 1}
    assert totals("sources", horizontal=True) == {"192.0.2.1": 3, "192.0.2.7": 1}
    assert charts["sources"]["title"] == "Top sources (lockouts: 3)"
    keys = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in charts["keys"]["traces"]}
    assert set(keys) == {"current version", "age of current key (days)"}
    # Version 1 comes with the tenant; alpha rotated once, beta (at version 4) is not shown.
    assert keys["current version"] == {"alpha": 2}
    assert set(keys["age of current key (days)"]) == {"alpha"}

    # Regression: a lone hour's bar was stretched over the whole axis, labelled in
    # fractions of a second. The axis spans the week (whole hours), a bar one hour.
    events = charts["events"]
    assert events["xspan_ms"] == (7 * 24 + 1) * HOUR_MS
    assert 0 < events["bar_px"] < events["plot_px"] / 100

    with console.lock:
        mine, theirs = _audit_state(tenant_alpha), _audit_state(tenant_beta)
    for key in ("entries", "pending", "head", "verified_entries"):
        assert mine[key] != theirs[key], key  # the fixture makes them tell apart
    assert totals("audit") == {"alpha": mine["entries"]}

    rows = console.driver.find_elements("css selector", "#audit-status tr[data-log]")
    assert [row.get_attribute("data-log") for row in rows] == ["alpha"]
    assert console.text("#audit-status .entries") == str(mine["entries"])
    assert console.text("#audit-status .pending").startswith(f"{mine['pending']} (")
    assert console.text("#audit-status .head").endswith(f"(size {mine['head']})")
    verified = console.text("#audit-status .verified")
    assert verified.startswith("OK ") and verified.endswith(f"({mine['verified_entries']} entries)")

    assert console.text("h1") == "Security — Alpha Ltd"
    assert "Data Isolation Managers" in console.text("#site-name")  # the console's header
    page = console.driver.page_source + "".join(c["json"] for c in charts.values())
    for value in BETA_ONLY:
        assert value not in page, value
    console.assert_no_js_errors()


def _staff(username, tenant=None, role=None):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    if tenant is not None:
        with tenant_context(tenant):  # memberships are written in their tenant's context
            Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


@pytest.mark.parametrize(
    ("role", "status", "heading"),
    [
        (None, 404, "Not Found"),  # staff, but in no tenant
        (Role.VIEWER, 403, "403 Forbidden"),  # the security admin pages need admin
        (Role.MEMBER, 403, "403 Forbidden"),
    ],
)
def test_browser_dashboard_refused_without_a_tenant_role(
    console, overlapping_activity, tenant_alpha, role, status, heading
):
    _staff("nora", tenant_alpha if role else None, role)
    console.login("nora", PASSWORD, next_path="/console/security/")
    console.wait_for_path("/console/security/")
    assert console.text("h1") == heading
    page = console.driver.page_source
    assert "plotly" not in page.lower() and "audit-status" not in page
    for value in ("192.0.2.", "198.51.100.", "alpha", "beta"):
        assert value not in page, value
    console.assert_no_js_errors(allow=(f"status of {status}",))
