"""The security dashboard in a real browser: headless Chromium signs in through the
console's login form, opens /console/security/ from the live console, and waits for
Plotly to draw every chart (or, for a tenant with nothing to draw, for each chart's
empty state). Tenants alpha and beta hold the same kinds of data (events
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
BETA_ONLY = (
    "198.51.100.",
    "beta",
    "Beta GmbH",
    "credential_stuffing",
    "Credential stuffing",
    "cross_tenant_probe",
    "Cross-tenant probing",
)

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
    title: gd.closest("[data-chart]").querySelector("h3").textContent.trim(),
    note: (gd.closest("[data-chart]").querySelector("p") || {}).textContent,
    colours: gd.data.map((t) => t.marker && t.marker.color),
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

    assert totals("events", by_name=True) == {"Brute force": 3, "Session anomaly": 1}
    assert charts["events"]["title"] == "Security events per hour, last 7 days"
    assert totals("severity") == {"Low": 0, "Medium": 3, "High": 1, "Critical": 0}
    assert totals("sources", horizontal=True) == {"192.0.2.1": 3, "192.0.2.7": 1}
    assert charts["sources"]["title"] == "Top sources"
    assert charts["sources"]["note"].strip().endswith(": 3")  # the back-offs
    # One bar per version of the tenant's ring, its age in seconds here (the keys are
    # seconds old); the current version is its own trace, in its own colour. Version 1
    # comes with the tenant; alpha rotated once, beta (at version 4) is not shown.
    assert charts["keys"]["title"] == "Key versions and ages"
    keys = {t["name"]: t for t in charts["keys"]["traces"]}
    assert set(keys) == {"earlier versions", "current version"}
    assert keys["current version"]["x"] == ["v2"] and keys["earlier versions"]["x"] == ["v1"]
    assert keys["earlier versions"]["y"][0] >= keys["current version"]["y"][0] >= 0
    assert len(set(charts["keys"]["colours"])) == 2
    assert "age (seconds)" in charts["keys"]["json"]

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

    rows = console.driver.find_elements("css selector", "#audit-status tbody tr[data-log]")
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


# What the console's chart contract promises (tenancy/console_charts.py): each
# [data-chart] holds a drawn graph with points, or no graph and a sentence.
CHART_STATES = """
return Array.from(document.querySelectorAll("[data-chart]")).map((box) => {
  const graphs = box.querySelectorAll(".plotly-graph-div");
  const empty = box.querySelector("[data-empty-state]");
  return {
    name: box.dataset.chart,
    heading: (box.querySelector("h2, h3") || {}).textContent,
    graphs: graphs.length,
    drawn: Array.from(graphs).every((gd) => gd._fullLayout
      && gd.data.some((t) => t.x && t.x.length > 0)),
    empty: empty ? empty.textContent.trim() : null,
  };
});
"""


def test_browser_dashboard_of_a_fresh_tenant_says_what_will_fill_it(
    console, tenant_alpha, alpha_owner, tenant_beta
):
    with tenant_context(tenant_beta):  # another tenant's activity changes nothing here
        SecurityEvent.objects.create(type="brute_force", severity="high", source="198.51.100.2")
    console.login("alice", PASSWORD, next_path="/console/security/")
    console.wait_for_path("/console/security/")
    console.wait(
        lambda d: d.execute_script("return !!document.querySelector('#chart-keys')._fullLayout"),
        "the key chart was not drawn",
    )
    states = {c["name"]: c for c in console.driver.execute_script(CHART_STATES)}
    assert set(states) == set(CHARTS)
    for name in ("events", "severity", "sources"):
        chart = states[name]
        assert chart["graphs"] == 0 and chart["heading"].strip(), name
    assert states["events"]["empty"].startswith("No security event in the last 7 days.")
    assert "Failed sign-ins" in states["events"]["empty"]
    assert states["severity"]["empty"].startswith("No security event to rate.")
    assert states["sources"]["empty"].startswith("No event named a source in the last 7 days.")
    # The tenant's key ring exists from its creation: version 1, drawn (never "empty").
    keys = states["keys"]
    assert keys["graphs"] == 1 and keys["drawn"] and keys["empty"] is None
    traces = console.driver.execute_script(
        "return document.getElementById('chart-keys').data.map((t) => [t.name, t.x]);"
    )
    assert traces == [["current version", ["v1"]]]
    for chart in states.values():  # the contract, whatever the audit log holds
        assert (chart["graphs"] and chart["drawn"]) or (not chart["graphs"] and chart["empty"])
    assert "198.51.100." not in console.driver.page_source
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
