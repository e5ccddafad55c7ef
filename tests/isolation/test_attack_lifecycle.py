"""Attacks on the tenant lifecycle (lifecycle_mgr) by a second tenant, through the
workflow API that every member may use.

The `lifecycle.*` workflows and their step actions (`lifecycle.check`, `.apply`,
`.restore`, `.erase`, lifecycle_mgr/workflows.py) are registered in workflow_mgr's global
registries like any tenant workflow. `POST /api/v1/workflows/` (write role: MEMBER) takes
a registered name *or* a custom definition naming any registered action, with any
`input`. The steps then act on `ctx.input["tenant_id"]`, never on the run's own tenant:
`TenantLifecycle` is a platform table (no scoping), `do_set_tenant_state` takes the
Tenant row, and `erase_tenant(tenant_id)` enters that tenant's context itself.

Found:
- a member of B runs a one-step custom definition `{action: lifecycle.erase}` with A's
  id: A's data is erased (rows purged, keys crypto-shredded, memberships deleted) with
  no state check, whether or not A is enrolled or archived;
- a member of B runs `lifecycle.suspend` with A's id: the check step reads A's
  lifecycle row (platform table) and B's run shows A's state; the state change itself
  is stopped only because the apply step's audit write names A in B's context.
The API and console routes for transitions are platform-operator only
(lifecycle_mgr/api/views.py, console.py); the workflow API was the side door. Fixed:
platform workflows and actions are refused to any definition not started by the
platform's own code (`create_run(platform=True)`), and each lifecycle step acts only on
its run's own tenant."""

from __future__ import annotations

import pytest

from lifecycle_mgr import actions
from lifecycle_mgr.models import TenantLifecycle
from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant, TenantSetting
from tests.personas import _member, _user, api_as
from workflow_mgr.models import StepRun

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workflows/"


@pytest.fixture
def beta_member(tenant_beta):
    user = _user("mallory")
    _member(user, tenant_beta, Role.MEMBER)
    return user


def test_attack_lifecycle_member_of_b_cannot_drive_or_read_a_through_the_workflow_api(
    beta_member, tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    """`lifecycle.suspend` naming A, run by B's member: the `apply` step is stopped by
    the scoped write guard (record_tenant_event names A inside B's context) and retried
    5 times, but the `check` step has already read A's platform lifecycle row under a
    row lock and put A's state into B's run (visible to every viewer of B)."""
    actions.create_tenant_lifecycle(tenant_alpha.pk, "standard")  # A: enrolled, active
    beta = api_as(beta_member, tenant_beta)
    body = {
        "definition": "lifecycle.suspend",
        "input": {"tenant_id": tenant_alpha.pk, "transition": "suspend", "actor": "ops"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        answer = beta.post(BASE, body, format="json")
    assert Tenant.objects.get(pk=tenant_alpha.pk).state == "active"  # held, by luck
    assert TenantLifecycle.objects.get(tenant_id=tenant_alpha.pk).state == "active"
    leaked = None
    if answer.status_code == 201:
        with tenant_context(tenant_beta):
            leaked = (
                StepRun.objects.filter(run_id=answer.json()["id"], name="check")
                .values_list("output", flat=True)
                .first()
            )
    assert answer.status_code in (400, 403, 404) and not leaked, (
        f"B started a lifecycle run on A (HTTP {answer.status_code}); its check step "
        f"read A's lifecycle: {leaked!r}"
    )


def test_attack_lifecycle_member_of_b_cannot_erase_a_with_a_custom_definition(
    beta_member, alpha_owner, tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(key="alpha-crown-jewels", value={"x": 1})
    beta = api_as(beta_member, tenant_beta)
    body = {
        "definition": {
            "name": "innocent-report",
            "steps": [{"name": "report", "action": "lifecycle.erase"}],
        },
        "compensation_strategy": "manual",
        "input": {"tenant_id": tenant_alpha.pk, "actor": "system:lifecycle"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        answer = beta.post(BASE, body, format="json")
    with tenant_context(tenant_alpha):
        left = TenantSetting.objects.filter(key="alpha-crown-jewels").exists()
        members = Membership.objects.filter(tenant_id=tenant_alpha.pk).count()
    assert left and members == 1, (
        f"B's member erased A (API answered {answer.status_code}): "
        f"A's setting left={left}, A's memberships={members}"
    )
    assert answer.status_code in (400, 403, 404), answer.content


def test_attack_lifecycle_step_acts_only_on_its_runs_own_tenant(
    tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    """Even started by platform code, a lifecycle run in B's context naming A never
    reads or changes A: the step refuses a tenant other than its run's."""
    from workflow_mgr.actions import create_run
    from workflow_mgr.models import RunState

    actions.create_tenant_lifecycle(tenant_alpha.pk, "standard")
    with tenant_context(tenant_beta), django_capture_on_commit_callbacks(execute=True):
        run = create_run(
            "lifecycle.suspend",
            input={"tenant_id": tenant_alpha.pk, "transition": "suspend", "actor": "x"},
            platform=True,
        )
    with tenant_context(tenant_beta):
        run.refresh_from_db()
        outputs = [s.output for s in StepRun.objects.filter(run=run)]
    assert run.state == RunState.COMPENSATED and "its run's own tenant" in run.error
    assert all("from" not in (o or {}) for o in outputs)  # A's state never read
    assert TenantLifecycle.objects.get(tenant_id=tenant_alpha.pk).state == "active"
