"""The security dashboard: scoped data, and the page rendered by a real headless
browser (Chromium): every Plotly chart must have drawn its SVG."""

import os
import re
import shutil
import subprocess

import pytest

from security_mgr import actions, threats
from security_mgr.dashboard import PLOTLY_JS, dashboard_data
from tenancy.context import platform_access, tenant_context

pytestmark = pytest.mark.django_db
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def security_activity(tenant_a, tenant_b):
    for tenant, source in ((tenant_a, "192.0.2.1"), (tenant_b, "198.51.100.2")):
        with tenant_context(tenant):
            actions.rotate_key(reason="dashboard")
            for i in range(8):
                threats.analyze_threat("login", username=f"u{i}", ip=source)
            actions.sign_tree_head()


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


# CI installs Chromium (.ci/run) and must not skip; elsewhere a missing browser skips.
@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Chromium (apt-get install chromium)",
)
def test_dashboard_renders_in_a_headless_browser(security_activity, owner_a, client, tmp_path):
    client.force_login(owner_a)
    html = client.get("/console/security/").content.decode()
    # The browser loads the page from disk, with Plotly's bundle next to it.
    shutil.copy(PLOTLY_JS, tmp_path / "plotly.min.js")
    html = html.replace('src="/console/security/plotly.min.js"', 'src="plotly.min.js"')
    page = tmp_path / "dashboard.html"
    page.write_text(html)
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--allow-file-access-from-files",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = result.stdout
    assert "<html" in dom, result.stderr[-2000:]
    for chart in ("events", "severity", "sources", "keys", "audit"):
        block = dom.split(f'id="chart-{chart}"', 1)
        assert len(block) == 2, f"chart {chart} missing"
        # Plotly replaced the empty div with its drawing: an SVG of class main-svg.
        assert re.search(r'class="main-svg"', block[1].split("security-chart", 1)[0]), chart


def test_scheduled_verification_shows_on_the_dashboard(security_activity, tenant_a):
    from security_mgr.tasks import verify_audit_task

    with tenant_context(tenant_a):
        result = verify_audit_task.delay().get()
        assert result["ok"]
        assert dashboard_data()["last_verification"]["alpha"]["ok"] is True
