"""The Performance, Business and Operations dashboards in headless Chromium: the
console's login form, each page from the live console, Plotly drawing every chart that
has data (and each empty chart saying what will fill it), no browser console error, and
nothing of the other tenant in the page or in the charts' data. Alpha and beta hold the
same kinds of rows (requests, alerts, sessions, records, key versions); beta's are
bigger and named apart (perf_mgr/tests/dashboard_helpers.py)."""

import pytest

from perf_mgr.tests.dashboard_helpers import BETA_ONLY, SHAPE, seed_activity
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = {
    "performance": (
        "/console/performance/",
        ("latency", "throughput", "errors", "anomalies", "forecast"),
    ),
    "business": ("/console/performance/business/", ("active_users", "sessions", "records", "api")),
    "operations": ("/console/performance/operations/", ("queues", "tasks", "keys", "models")),
}

# Each [data-chart]: its graph (drawn, with the traces' points) or its empty sentence.
CHARTS = """
return Array.from(document.querySelectorAll("[data-chart]")).map((box) => {
  const gd = box.querySelector(".plotly-graph-div");
  const empty = box.querySelector("[data-empty-state]");
  return {
    name: box.dataset.chart,
    heading: (box.querySelector("h3") || {}).textContent,
    graph: !!gd,
    drawn: !!(gd && gd._fullLayout && gd.querySelector("svg.main-svg")),
    traces: gd && gd.data ? gd.data.map((t) => ({
      name: t.name || "", x: Array.from(t.x || []), y: Array.from(t.y || []),
      text: t.text ? Array.from(t.text) : [],
    })) : [],
    json: gd && gd.data ? JSON.stringify(gd.data) + JSON.stringify(gd.layout) : "",
    empty: empty ? empty.textContent.trim() : null,
  };
});
"""
ALL_DRAWN = """
return Array.from(document.querySelectorAll("[data-chart] .plotly-graph-div"))
  .every((gd) => gd._fullLayout && gd.querySelector("svg.main-svg"));
"""


@pytest.fixture
def activity(tenant_alpha, tenant_beta, alpha_owner, beta_owner):
    return {
        "alpha": seed_activity(tenant_alpha, alpha_owner),
        "beta": seed_activity(tenant_beta, beta_owner),
    }


def _open(console, page) -> dict:
    path, names = PAGES[page]
    console.open(path)
    console.wait_for_path(path)
    console.wait(lambda d: d.execute_script(ALL_DRAWN), f"Plotly did not draw {page}")
    charts = {c["name"]: c for c in console.driver.execute_script(CHARTS)}
    assert set(charts) == set(names), page
    for chart in charts.values():  # the console's chart contract
        assert chart["heading"].strip(), chart["name"]
        assert (chart["graph"] and chart["drawn"] and any(t["x"] for t in chart["traces"])) or (
            not chart["graph"] and chart["empty"]
        ), chart
    return charts


def _no_beta(console, charts):
    page = console.driver.page_source + "".join(c["json"] for c in charts.values())
    for value in BETA_ONLY:
        assert value not in page, value


def test_browser_dashboards_draw_only_the_tenants_figures(console, activity, alpha_owner):
    ok, failed, latency, sessions, records, rotations, rule = SHAPE["alpha"]
    console.login("alice", PASSWORD, next_path=PAGES["performance"][0])

    charts = _open(console, "performance")
    traces = {t["name"]: t for t in charts["latency"]["traces"]}
    assert set(traces) == {"p50", "p95", "p99", "alert fired"}
    assert 38 < traces["p95"]["y"][0] < 42  # alpha's 40 ms, never beta's 900 ms
    assert traces["alert fired"]["text"] == [f"{rule} (warning)"]
    (throughput,) = charts["throughput"]["traces"]
    assert round(sum(throughput["y"]) * 15) == ok + failed  # requests per minute × 15
    assert sum(charts["errors"]["traces"][0]["y"]) == failed
    assert console.text("#alert-firings .rule") == rule
    assert console.text("h1").startswith("Performance — ")
    _no_beta(console, charts)

    charts = _open(console, "business")
    assert sum(charts["sessions"]["traces"][0]["y"]) == sessions
    assert sum(charts["records"]["traces"][0]["y"]) == records
    assert sum(charts["api"]["traces"][0]["y"]) == ok + failed
    assert sum(charts["active_users"]["traces"][0]["y"]) == 1
    assert [t["name"] for t in charts["records"]["traces"]] == ["alpha"]
    _no_beta(console, charts)

    charts = _open(console, "operations")
    (keys,) = charts["keys"]["traces"]
    assert keys["text"] == [f"v{v}" for v in range(1, rotations + 2)]
    assert charts["models"]["empty"] == "AI model deployments appear when the AI manager lands."
    assert sum(sum(t["y"]) for t in charts["tasks"]["traces"]) == 1
    assert console.text("#firing-alerts .rule") == rule
    assert console.text("#system-health [data-part=database] .state") == "up"
    _no_beta(console, charts)
    console.assert_no_js_errors()


def test_browser_dashboards_of_a_fresh_tenant_say_what_will_fill_them(
    console, tenant_alpha, alpha_owner, tenant_beta, beta_owner
):
    seed_activity(tenant_beta, beta_owner)  # another tenant's activity changes nothing here
    console.login("alice", PASSWORD, next_path=PAGES["performance"][0])
    for page in PAGES:
        charts = _open(console, page)
        for name, chart in charts.items():
            if page == "operations" and name == "keys":
                continue  # the tenant's key ring exists from its creation: version 1
            assert not chart["graph"] and chart["empty"], (page, name)
        _no_beta(console, charts)
    console.assert_no_js_errors()


def test_browser_viewer_sees_performance_not_business(console, activity, alpha_viewer):
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    console.login(alpha_viewer.username, PASSWORD, next_path=PAGES["performance"][0])
    charts = _open(console, "performance")
    _no_beta(console, charts)
    nav = console.driver.page_source
    assert PAGES["business"][0] not in nav and PAGES["operations"][0] not in nav
    console.open(PAGES["business"][0])
    assert console.text("h1") == "403 Forbidden"
    console.assert_no_js_errors(allow=("status of 403",))
