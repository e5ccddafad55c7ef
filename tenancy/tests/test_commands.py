import io

import pytest
from django.core.management import call_command

from tenancy.context import tenant_context
from tenancy.models import Membership, Tenant, TenantSetting


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_login():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=io.StringIO())
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == ["acme", "globex", "initech"]
    assert Membership.objects.count() == 9
    for tenant in Tenant.objects.all():
        with tenant_context(tenant):
            assert TenantSetting.objects.count() == 3
    assert "acme-owner" in out.getvalue() and "/admin/" in out.getvalue()


@pytest.mark.django_db
def test_check_isolation_passes_on_this_database():
    out = io.StringIO()
    call_command("check_isolation", stdout=out)
    assert "isolation OK" in out.getvalue()


@pytest.mark.django_db
def test_managers_entry_points():
    import managers

    info = managers.initialize_managers()
    assert info["migrated"] is True and "tenancy.TenantSetting" in info["scoped_models"]
    report = managers.validate_module_integrity()
    assert report["ok"] is True and report["system_check_errors"] == []


@pytest.mark.django_db
def test_seed_demo_prints_the_port_it_is_given(monkeypatch):
    out = io.StringIO()
    call_command("seed_demo", "--port", "8123", stdout=out)
    assert "http://localhost:8123/admin/" in out.getvalue()
    assert "http://127.0.0.1:8123/api/v1/settings/" in out.getvalue()
    assert ":8000" not in out.getvalue()
    monkeypatch.setenv("PORT", "9031")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "http://localhost:9031/admin/" in out.getvalue() and ":8000" not in out.getvalue()
