"""The performance dashboard's anomalies and forecast band: drawn from the tenant's own
data, with empty states that say what will fill them."""

import pytest
from django.test import Client
from django.utils import timezone

from perf_mgr import anomalies
from perf_mgr.dashboards.charts import performance_charts
from perf_mgr.dashboards.data import performance_data
from perf_mgr.tests.insights_helpers import hourly_history, recent
from tenancy.context import tenant_context
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db
REQ = "http_request_duration_seconds"


def _seed(tenant, write_samples):
    now = timezone.now()
    at = int(now.timestamp() * 1e6)
    write_samples(tenant, hourly_history(REQ, at, weeks=1, level=0.2, noise=0.01, per_hour=6))
    write_samples(tenant, hourly_history("orders", at, weeks=2))
    write_samples(tenant, recent("orders", at, 800.0))
    with tenant_context(tenant):
        anomalies.do_detect_anomalies(now)


def test_dashboard_draws_anomalies_and_forecast_band(tenant_alpha, write_samples):
    _seed(tenant_alpha, write_samples)
    data = performance_data([tenant_alpha])
    (item,) = data["insights"]["anomalies"]
    assert item["metric"] == "orders"
    charts = performance_charts(data)
    assert not charts["anomalies"].is_empty and not charts["forecast"].is_empty
    assert "tonexty" in charts["forecast"].html  # the band
    assert "accuracy" in str(charts["forecast"].note)


def test_dashboard_empty_states_and_other_tenants(tenant_alpha, tenant_beta, write_samples):
    _seed(tenant_alpha, write_samples)
    data = performance_data([tenant_beta])
    assert data["insights"]["anomalies"] == [] and data["insights"]["forecast"] is None
    charts = performance_charts(data)
    assert charts["anomalies"].is_empty and "hour of the week" in str(charts["anomalies"].empty)
    assert charts["forecast"].is_empty


def test_performance_page_lists_the_anomaly_with_its_band(tenant_alpha, alpha_owner, write_samples):
    _seed(tenant_alpha, write_samples)
    client = Client()
    assert client.login(username=alpha_owner.get_username(), password=PASSWORD)
    page = client.get("/console/performance/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="anomalies"' in html and ">orders<" in html
    assert "chart-forecast-figure" in html
