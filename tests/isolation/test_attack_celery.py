"""Red team, Celery: code running for tenant A trying to make tasks act in tenant B.

The publish guard (test_celery_guard.py) stops a header naming B. What it did not
stop: `fan_out()` enters every tenant's context itself, so called from inside A (or the
platform task `fan_out_task`, sent from A's context and run there) it sent the task to
B as well. And tasks that take ids must look them up in the task's own tenant.
"""

import pytest

from audit_mgr.tasks import sweep_pending_audit_task
from config.celery import app
from security_mgr.tasks import check_probe_task
from sessions_mgr.actions import do_create_session
from sessions_mgr.models import Session
from sessions_mgr.tasks import evaluate_session_task
from tenancy import resettable
from tenancy.celery_support import fan_out
from tenancy.context import get_current_tenant_id, tenant_context
from tenancy.exceptions import TenantMismatch
from tenancy.tasks import fan_out_task

pytestmark = pytest.mark.django_db
RAN: list = []
resettable.register(RAN.clear, name="tests.isolation.test_attack_celery.RAN")


@app.task(name="tests.isolation.attack_record_tenant")
def attack_record_tenant_task():
    RAN.append(get_current_tenant_id())


def test_fan_out_from_inside_a_tenant_is_refused(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha), pytest.raises(TenantMismatch):
        fan_out(attack_record_tenant_task)
    assert tenant_beta.pk not in RAN
    assert fan_out(attack_record_tenant_task) == 2  # positive control: from no tenant
    assert sorted(RAN) == sorted([tenant_alpha.pk, tenant_beta.pk])


def test_fan_out_task_sent_from_a_tenant_reaches_no_other(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha), pytest.raises(TenantMismatch):
        fan_out_task.delay(attack_record_tenant_task.name)
    assert tenant_beta.pk not in RAN


def test_platform_sweep_sent_from_a_tenant_reaches_no_other(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha), pytest.raises(TenantMismatch):
        sweep_pending_audit_task.delay()
    assert sweep_pending_audit_task.delay().get() == 2  # positive control


def _session_in(tenant, user):
    with tenant_context(tenant):
        session, _token = do_create_session(tenant_id=tenant.pk, user_id=user.pk)
    return session


def test_tasks_given_another_tenants_ids_act_on_nothing(
    tenant_alpha, tenant_beta, alpha_owner, beta_owner
):
    session_b = _session_in(tenant_beta, beta_owner)
    with tenant_context(tenant_alpha):
        assert evaluate_session_task.delay(session_b.pk).get() is None
        assert check_probe_task.delay("revoke_sessions", beta_owner.pk).get()["sessions"] == 0
    with tenant_context(tenant_beta):
        assert Session.objects.get(pk=session_b.pk).revoked_at is None
        # positive control: in B, the same ids reach B's session
        assert check_probe_task.delay("revoke_sessions", beta_owner.pk).get()["sessions"] == 1
