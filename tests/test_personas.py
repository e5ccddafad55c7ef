"""The personas are what tests/personas.py says they are: each user's role in each
tenant shows in what the settings API lets them do (viewers read, admins and owners
write), and nobody acts in a tenant they are not a member of."""

import pytest

from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.personas import api_as

PERSONAS = {
    # fixture: (tenant fixture, may write settings there)
    "alpha_owner": ("tenant_alpha", True),
    "alpha_admin": ("tenant_alpha", True),
    "alpha_viewer": ("tenant_alpha", False),
    "beta_owner": ("tenant_beta", True),
    "beta_admin": ("tenant_beta", True),
    "beta_viewer": ("tenant_beta", False),
}


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_personas_role_decides_settings_writes(persona, request, overlapping_settings):
    tenant_name, may_write = PERSONAS[persona]
    user, tenant = request.getfixturevalue(persona), request.getfixturevalue(tenant_name)
    client = api_as(user, tenant)

    listed = client.get("/api/v1/settings/")
    assert listed.status_code == 200, listed.content
    (setting,) = listed.json()["results"]
    assert setting["value"] == {"level": "high" if tenant.slug == "alpha" else "critical"}

    created = client.post(
        "/api/v1/settings/", {"key": f"note.{persona}", "value": {"by": persona}}, format="json"
    )
    assert created.status_code == (201 if may_write else 403), created.content
    with tenant_context(tenant):
        assert TenantSetting.objects.filter(key=f"note.{persona}").exists() is may_write


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_personas_see_nothing_of_the_other_tenant(persona, request, tenant_alpha, tenant_beta):
    tenant_name, _ = PERSONAS[persona]
    other = tenant_beta if tenant_name == "tenant_alpha" else tenant_alpha
    response = api_as(request.getfixturevalue(persona), other).get("/api/v1/settings/")
    assert response.status_code == 403, response.content


def test_personas_member_of_both_acts_in_each_tenant_it_names(member_of_both, overlapping_settings):
    for setting in overlapping_settings:
        tenant = setting.tenant
        body = api_as(member_of_both, tenant).get("/api/v1/settings/").json()
        assert [row["value"] for row in body["results"]] == [setting.value]
