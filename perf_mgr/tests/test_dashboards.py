"""The Performance, Business and Operations dashboards (perf_mgr/dashboards): each
persona sees its tenant's figures only, viewers only what their role allows, operators
any tenant they name, and every chart without data says what will fill it. In a real
browser: test_browser_dashboards.py."""

import pytest
from django.test import Client

from perf_mgr.dashboards.data import business_data, operations_data, performance_data
from perf_mgr.tests.dashboard_helpers import BETA_ONLY, seed_activity
from tenancy import console_registry
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = {
    "performance": "/console/performance/",
    "business": "/console/performance/business/",
    "operations": "/console/performance/operations/",
}


@pytest.fixture
def activity(tenant_alpha, tenant_beta, alpha_owner, beta_owner):
    return {
        "alpha": seed_activity(tenant_alpha, alpha_owner),
        "beta": seed_activity(tenant_beta, beta_owner),
    }


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def test_performance_data_is_the_tenants_own(activity, tenant_alpha, tenant_beta):
    data = performance_data([tenant_alpha])
    assert data["requests"] == activity["alpha"]["requests"]
    assert data["errors"] == activity["alpha"]["errors"]
    assert [f["rule"] for f in data["firings"]] == ["alpha_latency_rule"]
    (point,) = data["points"]
    assert 0.038 < point["p95"] < 0.042  # alpha's latency, not beta's 0.9 s
    both = performance_data([tenant_alpha, tenant_beta], everyone=True)
    assert both["requests"] == activity["alpha"]["requests"] + activity["beta"]["requests"]
    assert {f["rule"] for f in both["firings"]} == {
        "alpha: alpha_latency_rule",
        "beta: beta_only_rule_x91",
    }


def test_business_data_counts_each_feature_per_tenant(
    activity, tenant_alpha, tenant_beta, alpha_admin
):
    data = business_data([tenant_alpha])
    series = data["series"]
    assert set(series) >= {"active_users", "sessions", "records", "api"}
    assert sum(series["sessions"]["by_tenant"]["alpha"].values()) == 1
    assert sum(series["records"]["by_tenant"]["alpha"].values()) == 2
    assert sum(series["api"]["by_tenant"]["alpha"].values()) == activity["alpha"]["requests"]
    assert sum(series["active_users"]["by_tenant"]["alpha"].values()) == 1
    assert data["totals"]["records"] == {"alpha": 2}
    from tenancy.models import Membership

    assert data["members"] == {"alpha": Membership.objects.filter(tenant=tenant_alpha).count()}
    assert business_data([tenant_beta])["members"] == {
        "beta": Membership.objects.filter(tenant=tenant_beta).count()
    }
    assert data["members"]["alpha"] == 2  # alice and adam; beta has bob only
    both = business_data([tenant_alpha, tenant_beta], everyone=True)
    assert sum(both["series"]["records"]["by_tenant"]["beta"].values()) == 5


def test_operations_data_lists_the_tenants_alerts_and_keys(activity, tenant_alpha):
    data = operations_data([tenant_alpha])
    assert [a["rule"] for a in data["firing"]] == ["alpha_latency_rule"]
    keys = [d["item"] for d in data["deployments"] if d["item"].kind == "key"]
    assert [k.version for k in keys] == ["v1", "v2"]  # created with the tenant, rotated once
    assert [k.current for k in keys] == [False, True]
    assert data["health"]["dependencies"]["database"] == "up"
    assert sum(sum(h.values()) for h in data["tasks"].values()) == 1


@pytest.mark.parametrize("page", list(PAGES))
def test_owner_sees_only_the_tenants_figures(activity, alpha_owner, page):
    response = _client(alpha_owner).get(PAGES[page])
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-chart="' in body
    for value in BETA_ONLY:
        assert value not in body, value
    if page != "business":
        assert "alpha_latency_rule" in body


@pytest.mark.parametrize(
    ("page", "status"), [("performance", 200), ("business", 403), ("operations", 403)]
)
def test_viewer_sees_performance_only(activity, alpha_viewer, page, status):
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    response = _client(alpha_viewer).get(PAGES[page])
    assert response.status_code == status
    assert "beta_only_rule_x91" not in response.content.decode()


def test_admin_opens_every_dashboard(activity, alpha_admin):
    client = _client(alpha_admin)
    for path in PAGES.values():
        assert client.get(path).status_code == 200


def test_sidebar_shows_the_dashboards_by_role(activity, alpha_viewer, alpha_admin):
    section = {s.key: s for s in console_registry.sections()}["performance"]
    links = {item.link: item for item in section.items}
    assert set(links) >= {
        "console-perf-performance",
        "console-perf-business",
        "console-perf-operations",
    }
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    home = _client(alpha_viewer).get("/").content.decode()
    assert PAGES["performance"] in home and PAGES["business"] not in home
    home = _client(alpha_admin).get("/").content.decode()
    assert PAGES["business"] in home and PAGES["operations"] in home


def test_tenant_parameter_is_for_operators_only(activity, alpha_owner, superuser):
    owner = _client(alpha_owner)
    assert owner.get(PAGES["performance"] + "?tenant=beta").status_code == 404
    assert owner.get(PAGES["performance"] + "?tenant=nope").status_code == 404
    assert owner.get(PAGES["performance"] + "?tenant=alpha").status_code == 200
    root = _client(superuser)
    beta = root.get(PAGES["operations"] + "?tenant=beta").content.decode()
    assert "beta_only_rule_x91" in beta and "alpha_latency_rule" not in beta
    assert root.get(PAGES["operations"] + "?tenant=nope").status_code == 404
    everyone = root.get(PAGES["operations"]).content.decode()  # "All tenants"
    assert "beta_only_rule_x91" in everyone and "alpha_latency_rule" in everyone


def test_member_of_two_tenants_sees_the_chosen_one(activity, member_of_both):
    client = _client(member_of_both)
    client.post("/console/switch-tenant/", {"tenant": "beta", "next": "/"})
    page = client.get(PAGES["performance"]).content.decode()
    assert "beta_only_rule_x91" in page and "alpha_latency_rule" not in page


def test_staff_without_a_tenant_get_404(db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("nora", password=PASSWORD, is_staff=True)
    client = Client()
    client.login(username="nora", password=PASSWORD)
    for path in PAGES.values():
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("page", list(PAGES))
def test_empty_tenant_says_what_will_fill_each_chart(tenant_alpha, alpha_owner, page):
    body = _client(alpha_owner).get(PAGES[page]).content.decode()
    empties = body.count("data-empty-state")
    charts = body.count('data-chart="')
    drawn = body.count('class="plotly-graph-div"')
    assert charts == empties + drawn and charts >= 2
    assert "AI model deployments appear when the AI manager lands." in body or page != (
        "operations"
    )
    if page == "performance":
        assert drawn == 0 and "No request in the last 24 hours." in body


def test_dashboards_never_write(activity, alpha_owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(alpha_owner)
    with CaptureQueriesContext(connection) as captured:
        for path in PAGES.values():
            client.get(path)
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "django_session" not in q["sql"]
    ]
    assert writes == []


def test_dashboards_refuse_post(alpha_owner, tenant_alpha):
    assert _client(alpha_owner).post(PAGES["performance"]).status_code == 405
