import pytest
from django.urls import reverse

from tenancy.context import tenant_context
from tenancy.models import Tenant, TenantSetting


@pytest.mark.django_db
def test_console_home_counts_for_superuser(
    client, superuser, alpha_owner, beta_owner, overlapping_settings
):
    client.force_login(superuser)
    response = client.get("/")
    assert response.status_code == 200
    rows = {r["tenant"].slug: r for r in response.context["overview"]}
    assert set(rows) == {"alpha", "beta"}
    assert rows["alpha"]["members"] == 1 and rows["alpha"]["rows"]["Tenant settings"] == 1
    assert ("Tenant settings", 1) in rows["beta"]["counts"]


@pytest.mark.django_db
def test_console_home_for_tenant_staff_shows_own_tenant_only(
    client, alpha_owner, overlapping_settings
):
    client.force_login(alpha_owner)
    response = client.get("/")
    assert [r["tenant"].slug for r in response.context["overview"]] == ["alpha"]
    assert b"beta" not in response.content


@pytest.mark.django_db
def test_switch_tenant_for_shared_user(client, member_of_both, tenant_beta, overlapping_settings):
    client.force_login(member_of_both)
    assert client.get("/").context["tenant_error"].code == "tenant_required"
    assert client.post(reverse("console-switch-tenant"), {"tenant": "beta"}).status_code == 302
    response = client.get("/")
    assert [r["tenant"].slug for r in response.context["overview"]] == ["beta"]
    refused = client.post(reverse("console-switch-tenant"), {"tenant": "nope"})
    assert refused.status_code == 400


@pytest.mark.django_db
def test_superuser_admin_sees_all_tenants_with_filter(
    client, superuser, overlapping_settings, tenant_beta
):
    client.force_login(superuser)
    url = reverse("admin:tenancy_tenantsetting_changelist")
    assert len(client.get(url).context["cl"].result_list) == 2
    filtered = client.get(url, {"tenant__id__exact": tenant_beta.pk})
    assert [s.tenant_id for s in filtered.context["cl"].result_list] == [tenant_beta.pk]


@pytest.mark.django_db
def test_tenant_staff_admin_sees_own_tenant_only(
    client, alpha_owner, tenant_alpha, tenant_beta, overlapping_settings
):
    client.force_login(alpha_owner)
    tenants = client.get(reverse("admin:tenancy_tenant_changelist"))
    assert [t.slug for t in tenants.context["cl"].result_list] == ["alpha"]
    other = client.get(reverse("admin:tenancy_tenant_change", args=[tenant_beta.pk]))
    assert other.status_code == 302
    add = client.post(
        reverse("admin:tenancy_tenantsetting_add"),
        {"key": "ui.theme", "value": '"dark"', "description": ""},
    )
    assert add.status_code == 302
    with tenant_context(tenant_alpha):
        assert TenantSetting.objects.get(key="ui.theme").value == "dark"
    assert Tenant.objects.count() == 2


@pytest.mark.django_db
def test_viewer_cannot_change_in_admin(client, alpha_viewer, overlapping_settings):
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    client.force_login(alpha_viewer)
    setting = overlapping_settings[0]
    assert client.get(reverse("admin:tenancy_tenantsetting_changelist")).status_code == 200
    response = client.post(
        reverse("admin:tenancy_tenantsetting_change", args=[setting.pk]),
        {"key": "hacked", "value": "1"},
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_admin_autocomplete_and_fk_choices_are_scoped(
    client, alpha_owner, tenant_alpha, tenant_beta
):
    from tests.scoping_app.models import Folder

    with tenant_context(tenant_alpha):
        mine = Folder.objects.create(name="Inbox")
    with tenant_context(tenant_beta):
        theirs = Folder.objects.create(name="Inbox")
    client.force_login(alpha_owner)
    found = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "scoping_app",
            "model_name": "document",
            "field_name": "folder",
            "term": "In",
        },
    ).json()
    assert [r["id"] for r in found["results"]] == [str(mine.pk)]
    refused = client.post(
        reverse("admin:scoping_app_document_add"),
        {"folder": theirs.pk, "title": "Sneaky", "size": 1},
    )
    assert refused.status_code == 200 and "folder" in refused.context["adminform"].form.errors


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/console/passkeys/"])
def test_console_pages_carry_the_console_header_and_log_out(
    client, alpha_owner, overlapping_settings, path
):
    client.force_login(alpha_owner)
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="header-logout"' in page and reverse("admin:logout") in page
    assert "Django administration" not in page
