"""The console: a Performance section with read-only changelists of the tenant's rows,
and a KPI card."""

import pytest
from django.test import Client

from perf_mgr.console_nav import performance_card
from perf_mgr.models import MetricSeries
from tenancy import console_registry
from tenancy.context import tenant_context
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


def test_performance_section_lists_the_models():
    section = {s.key: s for s in console_registry.sections()}["performance"]
    assert MetricSeries in section.models
    assert "performance" in dict(console_registry.card_providers())


def test_changelist_is_read_only_and_the_tenants_own(
    alpha_admin, tenant_alpha, tenant_beta, write_samples, minute_ago
):
    write_samples(tenant_alpha, [("alpha_metric", None, 1, minute_ago)])
    write_samples(tenant_beta, [("beta_metric", None, 1, minute_ago)])
    client = Client()
    client.login(username=alpha_admin.username, password=PASSWORD)
    page = client.get("/admin/perf_mgr/metricseries/")
    assert page.status_code == 200
    assert b"alpha_metric" in page.content and b"beta_metric" not in page.content
    assert client.get("/admin/perf_mgr/metricseries/add/").status_code == 403
    with tenant_context(tenant_beta):
        beta_id = MetricSeries.objects.get().pk
    foreign = client.get(f"/admin/perf_mgr/metricseries/{beta_id}/change/")
    assert foreign.status_code in (302, 404)


def test_card_counts_the_last_hours_requests(tenant_alpha, write_samples, minute_ago):
    assert performance_card(None, [tenant_alpha]).value == "–"
    labels = {"view": "v", "method": "GET"}
    write_samples(
        tenant_alpha,
        [
            ("http_request_duration_seconds", {**labels, "status": "2xx"}, 0.1, minute_ago),
            ("http_request_duration_seconds", {**labels, "status": "5xx"}, 0.2, minute_ago),
        ],
    )
    card = performance_card(None, [tenant_alpha])
    assert card.value.endswith(" ms")
    assert [(str(r.label), r.value) for r in card.rows] == [
        ("Requests", 2),
        ("Errors (5xx)", "50.0%"),
    ]
