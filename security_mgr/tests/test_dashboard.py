"""The security dashboard: scoped data and who may open the page. The page in a real
browser (Plotly drawing every chart, for one tenant's staff) is
test_browser_dashboard.py."""

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
def security_activity(tenant_a, tenant_b):
    for tenant, source in ((tenant_a, "192.0.2.1"), (tenant_b, "198.51.100.2")):
        with tenant_context(tenant):
            actions.rotate_key(reason="dashboard")
            for i in range(8):
                threats.analyze_threat("login", username=f"u{i}", ip=source)
            audit_actions.sign_tree_head()


def test_tenant_staff_see_only_their_tenant(security_activity, tenant_a):
    with tenant_context(tenant_a):
        data = dashboard_data()
    assert [k["tenant"] for k in data["keys"]] == ["alpha"]
    assert set(data["audit_sizes"]) == {"alpha"}
    assert [s for s, _n in data["top_sources"]] == ["192.0.2.1"]
    assert data["lockouts"] >= 1 and data["severity"]
    with platform_access("dashboard test: every tenant"):
        everything = dashboard_data()
    assert {k["tenant"] for k in everything["keys"]} == {"alpha", "beta"}


def test_page_access(security_activity, owner_a, viewer_a, superuser, client):
    client.force_login(owner_a)
    page = client.get("/console/security/")
    assert page.status_code == 200 and b"Security" in page.content
    assert b"198.51.100.2" not in page.content and b"192.0.2.1" in page.content
    client.force_login(superuser)
    assert b"198.51.100.2" in client.get("/console/security/").content
    client.force_login(viewer_a)  # not staff
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
    security_activity, tenant_a, client, role, status
):
    user = get_user_model().objects.create_user("nora", password="x", is_staff=True)
    if role is not None:
        with tenant_context(tenant_a):  # memberships are written in their tenant's context
            Membership.objects.create(user=user, tenant=tenant_a, role=role)
    client.force_login(user)
    page = client.get("/console/security/")
    assert page.status_code == status
    assert (b"192.0.2.1" in page.content) is (status == 200)
    assert b"198.51.100.2" not in page.content


def test_dashboard_of_the_chosen_tenant(security_activity, shared_user, client):
    client.force_login(shared_user)
    assert client.get("/console/security/").status_code == 404  # two tenants, none chosen
    page = client.get("/console/security/?tenant=beta")
    assert page.status_code == 200 and b"Security \xe2\x80\x94 Beta GmbH" in page.content
    assert b"198.51.100.2" in page.content and b"192.0.2.1" not in page.content


def test_dashboard_table_says_never_before_a_head_or_verification(tenant_a, owner_a, client):
    with tenant_context(tenant_a):
        audit_actions.record_event("dashboard.test")
        audit.sequence_pending(audit.tenant_log(tenant_a.pk))
    client.force_login(owner_a)
    page = client.get("/console/security/")
    [row] = page.context["audit_rows"]
    assert row["log"] == "alpha" and row["size"] == 1
    assert row["head"] is None and row["verified"] is None
    assert page.content.count(b"never</td>") == 2


def test_scheduled_verification_shows_on_the_dashboard(security_activity, tenant_a):
    from audit_mgr.tasks import verify_audit_task

    with tenant_context(tenant_a):
        result = verify_audit_task.delay().get()
        assert result["ok"]
        assert dashboard_data()["last_verification"]["alpha"]["ok"] is True
