"""The console's AI page (/console/ai/): the tenant's models with metrics per version,
a Promote button for admins (audited, through the same action as the API), a 403 for a
viewer's POST and another tenant's model a 404."""

import pytest

from ai_mgr import loader, training
from ai_mgr.models import AliasEvent, ModelAlias
from ai_mgr.tests.factories import metric_rows
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
PAGE = "/console/ai/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    loader.forget_all()
    yield
    loader.forget_all()


def _two_versions(tenant, name="detector"):
    with tenant_context(tenant):
        training.train_now(
            model_type="anomaly_detector", model_name=name, training_data=metric_rows()
        )
        training.train_now(
            model_type="anomaly_detector", model_name=name, training_data=metric_rows(seed=4)
        )


def test_ai_console_lists_versions_and_promotes(client, alpha_owner, tenant_alpha, tenant_beta):
    _two_versions(tenant_alpha)
    _two_versions(tenant_beta, name="beta-only")
    client.force_login(alpha_owner)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "detector" in html and "beta-only" not in html
    assert "holdout_score_mean=" in html and "/console/ai/detector/2/promote/" in html
    done = client.post("/console/ai/detector/2/promote/")
    assert done.status_code == 302
    with tenant_context(tenant_alpha):
        assert ModelAlias.objects.get(name="champion").version.number == 2
        assert AliasEvent.objects.filter(
            actor=alpha_owner.get_username(), reason="console"
        ).exists()
    assert client.post("/console/ai/beta-only/2/promote/").status_code == 404


def test_ai_console_viewer_sees_no_button_and_cannot_post(client, alpha_viewer, tenant_alpha):
    _two_versions(tenant_alpha)
    client.force_login(alpha_viewer)
    html = client.get(PAGE).content.decode()
    assert "detector" in html and "/promote/" not in html
    assert client.post("/console/ai/detector/2/promote/").status_code == 403
