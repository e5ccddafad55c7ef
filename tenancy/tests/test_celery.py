"""Tenant context across Celery: eager for the contract, and a real worker thread on
an in-memory broker (a real Worker, consumer and message headers; only the transport is
in-process) for the header path."""

import pytest

from config.celery import app
from tenancy.celery_support import TENANT_HEADER, fan_out
from tenancy.context import TenantRef, get_current_tenant_id, tenant_context
from tenancy.exceptions import TenantContextMissing


@app.task(name="tests.report_tenant")
def report_tenant_task():
    return get_current_tenant_id()


@app.task(name="tests.platform_job", tenant_scoped=False)
def platform_job_task():
    return get_current_tenant_id()


@pytest.mark.django_db
def test_task_sent_in_context_runs_in_that_tenant(tenant_alpha):
    with tenant_context(tenant_alpha):
        result = report_tenant_task.delay()
    assert result.get() == tenant_alpha.pk
    assert get_current_tenant_id() is None


def test_scoped_task_without_tenant_fails_loudly():
    with pytest.raises(TenantContextMissing, match="arrived without a tenant"):
        report_tenant_task.delay()


def test_platform_task_runs_without_tenant():
    assert platform_job_task.delay().get() is None


@pytest.mark.django_db
def test_malformed_tenant_header_fails_loudly():
    with pytest.raises(TenantContextMissing, match="malformed"):
        report_tenant_task.apply_async(headers={TENANT_HEADER: "abc"})


@pytest.mark.django_db
def test_fan_out_sends_once_per_active_tenant(tenant_alpha, tenant_beta, monkeypatch):
    from tenancy.models import TenantState

    tenant_beta.state = TenantState.SUSPENDED
    tenant_beta.save(update_fields=["state"])
    seen = []
    monkeypatch.setattr(
        report_tenant_task, "apply_async", lambda *a, **k: seen.append(get_current_tenant_id())
    )
    assert fan_out(report_tenant_task) == 1
    assert seen == [tenant_alpha.pk]


@pytest.mark.django_db
def test_heartbeat_fan_out_writes_per_tenant(tenant_alpha, tenant_beta):
    from tenancy.models import TenantSetting
    from tenancy.tasks import fan_out_task

    assert fan_out_task.delay("tenancy.tasks.record_tenant_heartbeat_task").get() == 2
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            assert TenantSetting.objects.filter(key="platform.heartbeat").count() == 1


@pytest.fixture
def committed_tenant(django_db_setup, django_db_blocker):
    """A tenant the worker thread (its own database connection) can see."""
    from tenancy.models import Tenant
    from tests.committed import delete_committed_tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.create(slug="worker-probe", name="Worker probe")
        yield TenantRef(tenant.pk, tenant.slug)
        delete_committed_tenant(tenant.pk)  # with the key ring it was created with


def test_real_worker_runs_task_in_header_tenant_then_clears(real_worker, committed_tenant):
    with tenant_context(committed_tenant):
        result = report_tenant_task.apply_async()
    assert result.get(timeout=10) == committed_tenant.id
    # The next task on the same worker thread, sent without a tenant, must not inherit it.
    assert platform_job_task.apply_async().get(timeout=10) is None
    with pytest.raises(TenantContextMissing, match="arrived without a tenant"):
        report_tenant_task.apply_async().get(timeout=10)


@pytest.mark.django_db
def test_header_cannot_name_another_tenant_than_the_context(tenant_alpha, tenant_beta):
    from tenancy.exceptions import TenantMismatch

    with tenant_context(tenant_alpha), pytest.raises(TenantMismatch):
        report_tenant_task.apply_async(headers={TENANT_HEADER: tenant_beta.pk})
    with tenant_context(tenant_alpha):  # naming its own tenant is fine
        assert report_tenant_task.apply_async(headers={TENANT_HEADER: tenant_alpha.pk}).get() == (
            tenant_alpha.pk
        )
