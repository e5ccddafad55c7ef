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


def _request(user, tenant):
    from django.test import RequestFactory

    from tenancy.models import Membership

    request = RequestFactory().get("/")
    request.user = user
    request.membership = Membership.objects.filter(user=user, tenant=tenant).first()
    return request


def test_card_counts_the_last_hours_requests(alpha_admin, tenant_alpha, write_samples, minute_ago):
    request = _request(alpha_admin, tenant_alpha)
    with tenant_context(tenant_alpha):
        assert performance_card(request, [tenant_alpha]).value == "–"
    labels = {"view": "v", "method": "GET"}
    write_samples(
        tenant_alpha,
        [
            ("http_request_duration_seconds", {**labels, "status": "2xx"}, 0.1, minute_ago),
            ("http_request_duration_seconds", {**labels, "status": "5xx"}, 0.2, minute_ago),
        ],
    )
    with tenant_context(tenant_alpha):
        card = performance_card(request, [tenant_alpha])
    assert card.value.endswith(" ms") and card.link.startswith("/admin/perf_mgr/")
    assert [(str(r.label), r.value) for r in card.rows] == [
        ("Requests", 2),
        ("Errors (5xx)", "50.0%"),
    ]


def test_card_is_not_shown_to_a_viewer(alpha_viewer, tenant_alpha):
    with tenant_context(tenant_alpha):
        assert performance_card(_request(alpha_viewer, tenant_alpha), [tenant_alpha]) is None
