"""The security dashboard: scoped data and who may open the page. The page in a real
browser (Plotly drawing every chart, for one tenant's staff) is
test_browser_dashboard.py."""

import json
import re

import pytest
from django.contrib.auth import get_user_model

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from security_mgr import actions, threats
from security_mgr.dashboard import dashboard_data
from tenancy.context import platform_access, tenant_context
from tenancy.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def security_activity(tenant_alpha, tenant_beta):
    for tenant, source in ((tenant_alpha, "192.0.2.1"), (tenant_beta, "198.51.100.2")):
        with tenant_context(tenant):
            actions.rotate_key(reason="dashboard")
            for i in range(8):
                threats.analyze_threat("login", username=f"u{i}", ip=source)
            audit_actions.sign_tree_head()


def test_tenant_staff_see_only_their_tenant(security_activity, tenant_alpha):
    with tenant_context(tenant_alpha):
        data = dashboard_data()
    assert [k["tenant"] for k in data["keys"]] == ["alpha"]
    assert set(data["audit_sizes"]) == {"alpha"}
    assert [s for s, _n in data["top_sources"]] == ["192.0.2.1"]
    assert data["lockouts"] >= 1 and data["severity"]
    with platform_access("dashboard test: every tenant"):
        everything = dashboard_data()
    assert {k["tenant"] for k in everything["keys"]} == {"alpha", "beta"}


def test_page_access(security_activity, alpha_owner, alpha_viewer, superuser, client):
    client.force_login(alpha_owner)
    page = client.get("/console/security/")
    assert page.status_code == 200 and b"Security" in page.content
    assert b"198.51.100.2" not in page.content and b"192.0.2.1" in page.content
    client.force_login(superuser)
    assert b"198.51.100.2" in client.get("/console/security/").content
    client.force_login(alpha_viewer)  # not staff
    assert client.get("/console/security/").status_code == 302
    assert client.get("/console/security/plotly.min.js").status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.OWNER, 200),
        (Role.ADMIN, 200),
        (Role.MEMBER, 403),  # the security admin pages need admin too
        (Role.VIEWER, 403),
        (None, 404),  # staff in no tenant: nothing to show
    ],
)
def test_dashboard_needs_the_admin_role_in_a_tenant(
    security_activity, tenant_alpha, client, role, status
):
    user = get_user_model().objects.create_user("nora", password="x", is_staff=True)
    if role is not None:
        with tenant_context(tenant_alpha):  # memberships are written in their tenant's context
            Membership.objects.create(user=user, tenant=tenant_alpha, role=role)
    client.force_login(user)
    page = client.get("/console/security/")
    assert page.status_code == status
    assert (b"192.0.2.1" in page.content) is (status == 200)
    assert b"198.51.100.2" not in page.content


def test_dashboard_of_the_chosen_tenant(security_activity, member_of_both, client):
    client.force_login(member_of_both)
    assert client.get("/console/security/").status_code == 404  # two tenants, none chosen
    page = client.get("/console/security/?tenant=beta")
    assert page.status_code == 200 and b"Security \xe2\x80\x94 Beta GmbH" in page.content
    assert b"198.51.100.2" in page.content and b"192.0.2.1" not in page.content


def test_dashboard_table_says_never_before_a_head_or_verification(
    tenant_alpha, alpha_owner, client
):
    with tenant_context(tenant_alpha):
        audit_actions.record_event("dashboard.test")
        audit.sequence_pending(audit.tenant_log(tenant_alpha.pk))
    client.force_login(alpha_owner)
    page = client.get("/console/security/")
    [row] = page.context["audit_rows"]
    assert row["log"] == "alpha" and row["size"] == 1
    assert row["head"] is None and row["verified"] is None
    assert page.content.count(b"never</td>") == 2


def test_scheduled_verification_shows_on_the_dashboard(security_activity, tenant_alpha):
    from audit_mgr.tasks import verify_audit_task

    with tenant_context(tenant_alpha):
        result = verify_audit_task.delay().get()
        assert result["ok"]
        assert dashboard_data()["last_verification"]["alpha"]["ok"] is True


def _chart_sections(page: str) -> dict[str, str]:
    """Each [data-chart] section of the page, by name."""
    return dict(re.findall(r'<section data-chart="([a-z]+)".*?>(.*?)</section>', page, re.S))


def test_dashboard_of_a_fresh_tenant_says_what_will_fill_each_empty_chart(
    tenant_alpha, alpha_owner, client
):
    client.force_login(alpha_owner)
    page = client.get("/console/security/").content.decode()
    sections = _chart_sections(page)
    assert set(sections) == {"events", "severity", "sources", "keys", "audit"}
    for name in ("events", "severity", "sources", "audit"):
        assert "plotly-graph-div" not in sections[name], name
        assert "data-empty-state" in sections[name] and "<h3" in sections[name], name
    assert "No security event in the last 7 days." in sections["events"]
    # The tenant's key ring comes with the tenant: version 1 is drawn, never an empty axis.
    assert 'id="chart-keys"' in sections["keys"] and "data-empty-state" not in sections["keys"]
    assert page.count('class="plotly-graph-div"') == 1


def test_dashboard_loads_no_plotly_without_a_chart_to_draw(tenant_alpha, alpha_owner, client):
    from security_mgr.models import KeyRing

    with tenant_context(tenant_alpha):
        KeyRing.objects.filter(subject="").delete()
    client.force_login(alpha_owner)
    page = client.get("/console/security/").content.decode()
    assert "plotly.min.js" not in page and "data-empty-state" in page
    assert "No key ring yet." in _chart_sections(page)["keys"]


def test_key_chart_draws_the_age_of_each_version_and_highlights_the_current(
    tenant_alpha, tenant_beta
):
    import datetime as dt

    from django.utils import timezone

    from security_mgr.dashboard_charts import keys_chart

    with tenant_context(tenant_alpha):
        actions.rotate_key(reason="dashboard")
    with tenant_context(tenant_beta):
        actions.rotate_key(reason="dashboard")
        actions.rotate_key(reason="dashboard")
    later = timezone.now() + dt.timedelta(days=3)
    with tenant_context(tenant_alpha):
        chart = keys_chart(dashboard_data(now=later))
    figure = json.loads(re.search(r'type="application/json">(.*?)</script>', chart.html).group(1))
    traces = {t["name"]: t for t in figure["data"]}
    assert traces["current version"]["x"] == ["v2"]
    assert traces["earlier versions"]["x"] == ["v1"]
    assert all(2.9 < age < 3.1 for t in traces.values() for age in t["y"])  # in days
    assert figure["layout"]["yaxis"]["title"]["text"] == "age (days)"
    assert (
        traces["current version"]["marker"]["color"]
        != traces["earlier versions"]["marker"]["color"]
    )
    with platform_access("dashboard test: every tenant"):
        every = keys_chart(dashboard_data(now=later))
    figure = json.loads(re.search(r'type="application/json">(.*?)</script>', every.html).group(1))
    labels = [x for t in figure["data"] for x in t["x"]]
    assert sorted(labels) == ["alpha · v1", "alpha · v2", "beta · v1", "beta · v2", "beta · v3"]
    assert figure["layout"]["xaxis"]["categoryarray"] == [
        "alpha · v1", "alpha · v2", "beta · v1", "beta · v2", "beta · v3",
    ]  # fmt: skip


def test_a_chart_without_points_is_an_empty_state():
    import plotly.graph_objects as go

    from tenancy.console_charts import chart

    assert chart("x", "X", None, empty="Nothing yet.").is_empty
    assert chart("x", "X", go.Figure(), empty="Nothing yet.").is_empty
    assert chart("x", "X", go.Figure(go.Bar(x=[], y=[])), empty="Nothing yet.").is_empty
    drawn = chart("x", "X", go.Figure(go.Bar(x=["a"], y=[1])), empty="Nothing yet.")
    assert not drawn.is_empty and 'id="chart-x"' in drawn.html
    assert 'id="chart-x-figure"' in drawn.html and '"displaylogo": false' in drawn.html


def test_sidebar_offers_the_dashboard_to_those_it_opens_for(
    tenant_alpha, alpha_owner, alpha_viewer, client
):
    client.force_login(alpha_owner)
    assert 'href="/console/security/"' in client.get("/").content.decode()
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    client.force_login(alpha_viewer)  # staff, but the dashboard needs the admin role
    assert 'href="/console/security/"' not in client.get("/").content.decode()
    assert client.get("/console/security/").status_code == 403
