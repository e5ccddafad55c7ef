"""The tenant lifecycle's state machine with the real workflow engine (steps run as
tasks, eagerly, after each commit): every legal transition from requested to archived,
each audited; illegal ones refused with the reason and nothing changed; a purge under
legal hold refused, before the run and inside it."""

from __future__ import annotations

import json

import pytest

import audit_mgr as audit
from audit_mgr.models import AuditEntry, PlatformAuditEntry
from lifecycle_mgr import actions, states, workflows
from lifecycle_mgr.holds import LegalHoldActive, do_place_hold, do_release_hold
from lifecycle_mgr.models import LifecycleState, TenantLifecycle, TierPolicy
from tenancy.context import platform_access, tenant_context
from tenancy.models import Tenant
from workflow_mgr.models import RunState, StepRun, WorkflowRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def go(django_capture_on_commit_callbacks):
    """Ask for a transition and let its run's messages execute (eager worker)."""

    def transition(tenant, name, actor="ops"):
        with django_capture_on_commit_callbacks(execute=True):
            run = actions.request_transition(tenant.pk, name, actor=actor)
        with tenant_context(tenant):
            run.refresh_from_db()
        return run

    return transition


@pytest.fixture
def newco(db):
    """A tenant just requested: pending, not yet served."""
    return Tenant.objects.create(slug="newco", name="NewCo", state="pending")


def _state(tenant) -> str:
    return TenantLifecycle.objects.get(tenant=tenant).state


def _events(tenant) -> list[tuple[str, dict]]:
    with tenant_context(tenant):
        audit.flush()
        rows = AuditEntry.objects.filter(event__startswith="lifecycle.").order_by("seq")
        return [(e.event, json.loads(e.data)["payload"]) for e in rows]


def test_tiers_are_seeded_by_the_migration():
    tiers = {t.name: t for t in TierPolicy.objects.all()}
    assert set(tiers) >= {"free", "standard", "enterprise"}
    assert tiers["free"].limit("users") == 5 and tiers["enterprise"].limit("users") is None
    assert tiers["standard"].retention_days["jobs"] == 90


def test_create_tenant_lifecycle_takes_the_seed_spelling_and_audits(newco):
    row = actions.create_tenant_lifecycle(newco.pk, lifecycle_policy="enterprise_tier")
    assert row.state == LifecycleState.REQUESTED and row.policy.name == "enterprise"
    newco.refresh_from_db()
    assert newco.tier == "enterprise"
    assert _events(newco)[-1] == (
        "lifecycle.created",
        {"tier": "enterprise", "state": "requested"},
    )
    with pytest.raises(actions.UnknownTier, match="gold"):
        actions.create_tenant_lifecycle(newco.pk, lifecycle_policy="gold")


def test_lifecycle_walks_every_state_up_to_archived_each_step_a_workflow(newco, go):
    actions.create_tenant_lifecycle(newco.pk, "free")
    walk = [
        ("provision", "provisioning", "pending"),
        ("activate", "active", "active"),
        ("suspend", "suspended", "suspended"),
        ("resume", "active", "active"),
        ("suspend", "suspended", "suspended"),
        ("offboard", "offboarding", "suspended"),
        ("archive", "archived", "archived"),
    ]
    for name, state, tenant_state in walk:
        run = go(newco, name)
        assert run.name == f"lifecycle.{name}" and run.state == RunState.SUCCEEDED, run.error
        assert _state(newco) == state
        assert Tenant.objects.get(pk=newco.pk).state == tenant_state
    events = [e for e, _ in _events(newco) if e != "lifecycle.created"]
    assert events == [f"lifecycle.{name}" for name, _, _ in walk]
    assert _events(newco)[-1][1]["from"] == "offboarding"
    with platform_access("test reads the platform log"):
        audit.flush(audit.platform_log())
        platform = PlatformAuditEntry.objects.filter(event="lifecycle.archive")
        assert platform.count() == 1


def test_illegal_transition_is_refused_with_the_reason_and_changes_nothing(newco, go):
    actions.create_tenant_lifecycle(newco.pk, "free")
    with pytest.raises(states.IllegalTransition, match="requested cannot suspend") as refused:
        actions.request_transition(newco.pk, "suspend")
    assert refused.value.status == 409
    with pytest.raises(states.IllegalTransition, match="Unknown transition") as unknown:
        actions.request_transition(newco.pk, "explode")
    assert unknown.value.status == 400
    with pytest.raises(states.IllegalTransition, match="only from archived"):
        actions.request_transition(newco.pk, "purge")
    assert _state(newco) == "requested"
    with tenant_context(newco):
        assert not WorkflowRun.objects.filter(name__startswith="lifecycle.").exists()


def test_an_existing_active_tenant_joins_as_active(tenant_beta):
    assert actions.create_tenant_lifecycle(tenant_beta.pk, "standard").state == "active"
    assert Tenant.objects.get(pk=tenant_beta.pk).state == "active"


def test_unenrolled_tenant_cannot_transition(tenant_beta):
    with pytest.raises(states.IllegalTransition, match="not enrolled") as refused:
        actions.request_transition(tenant_beta.pk, "provision")
    assert refused.value.status == 404


def test_a_second_transition_while_one_runs_is_refused(newco):
    actions.create_tenant_lifecycle(newco.pk, "free")
    run = actions.request_transition(newco.pk, "provision")  # messages not sent
    with pytest.raises(states.IllegalTransition, match="still running"):
        actions.request_transition(newco.pk, "provision")
    assert run.state == RunState.RUNNING and _state(newco) == "requested"


def _archive(tenant, go):
    actions.create_tenant_lifecycle(tenant.pk, "free")
    for name in ("provision", "activate", "offboard", "archive"):
        assert go(tenant, name).state == RunState.SUCCEEDED
    assert _state(tenant) == "archived"


def test_purge_under_legal_hold_is_refused_and_nothing_changes(newco, go):
    _archive(newco, go)
    do_place_hold(newco.pk, reason="litigation 2026-17", actor="legal")
    with pytest.raises(LegalHoldActive, match="litigation 2026-17"):
        actions.request_transition(newco.pk, "purge")
    assert _state(newco) == "archived"
    with tenant_context(newco):
        assert not WorkflowRun.objects.filter(name="lifecycle.purge").exists()


def test_hold_placed_after_the_purge_was_asked_stops_it_inside_the_run(
    newco, go, django_capture_on_commit_callbacks
):
    _archive(newco, go)
    run = actions.request_transition(newco.pk, "purge")  # not yet executed
    hold = do_place_hold(newco.pk, reason="regulator request", actor="legal")
    with tenant_context(newco):
        from workflow_mgr import engine

        with django_capture_on_commit_callbacks(execute=True):
            for step in StepRun.objects.filter(run=run):
                engine.run_step(step.pk)
        run.refresh_from_db()
        check = StepRun.objects.get(run=run, name="check")
        assert run.state == RunState.NEEDS_OPERATOR  # manual: a person decides
        assert check.attempts == 1 and "regulator request" in check.error
        assert not StepRun.objects.filter(run=run, name="erase").exists()
    assert _state(newco) == "archived"
    do_release_hold(hold, actor="legal")


def test_purge_step_without_the_erasure_module_fails_clearly(newco, go, monkeypatch):
    import sys

    _archive(newco, go)
    monkeypatch.setitem(sys.modules, "lifecycle_mgr.erasure", None)  # import -> ImportError
    run = go(newco, "purge")
    with tenant_context(newco):
        erase = StepRun.objects.get(run=run, name="erase")
    assert run.state == RunState.NEEDS_OPERATOR
    assert "erase_tenant is not available" in erase.error and erase.attempts == 1
    assert _state(newco) == "archived"


def test_purge_calls_erasure_then_marks_the_tenant_purged(newco, go, monkeypatch):
    import sys
    import types

    _archive(newco, go)
    erased = []
    module = types.ModuleType("lifecycle_mgr.erasure")
    module.erase_tenant = lambda tenant_id, actor="": (
        erased.append((tenant_id, actor)) or {"rows": 3}
    )
    monkeypatch.setitem(sys.modules, "lifecycle_mgr.erasure", module)
    run = go(newco, "purge")
    assert run.state == RunState.SUCCEEDED, run.error
    assert erased == [(newco.pk, "ops")] and _state(newco) == "purged"
    assert _events(newco)[-1][0] == "lifecycle.purge"


def test_a_failing_apply_step_changes_nothing(newco, go, monkeypatch):
    actions.create_tenant_lifecycle(newco.pk, "free")
    go(newco, "provision")

    def apply_then_fail(ctx):
        workflows.apply(ctx)
        raise RuntimeError("the provisioning back end went away")

    from workflow_mgr import definitions

    monkeypatch.setitem(definitions._actions, "lifecycle.apply", apply_then_fail)
    run = go(newco, "activate")
    # The step's transaction rolls back with its failure: no half-applied state.
    assert run.state not in (RunState.SUCCEEDED, RunState.RUNNING)
    assert _state(newco) == "provisioning"
    assert Tenant.objects.get(pk=newco.pk).state == "pending"


def test_lifecycle_purge_erases_through_the_workflow_and_the_certificate_verifies(newco, go):
    """The whole way: archived → purged, the purge's erase step calling the real erasure
    (lifecycle_mgr.erasure), which deletes the tenant's rows while its own run runs."""
    from lifecycle_mgr.erasure import verify_certificate
    from lifecycle_mgr.gdpr_models import ErasureCertificate
    from tests.scoping_app.models import Folder

    actions.create_tenant_lifecycle(newco.pk, "free")
    for name in ("provision", "activate", "suspend", "offboard", "archive"):
        assert go(newco, name).state == RunState.SUCCEEDED
    with tenant_context(newco):
        Folder.objects.create(name="to be erased")
    run = go(newco, "purge")
    assert _state(newco) == "purged"
    with tenant_context(newco):
        assert not Folder.objects.exists()
        certificate = ErasureCertificate.objects.get()
        assert verify_certificate(certificate)["ok"]
        assert audit.verify_log(audit.tenant_log()).ok
    assert run.pk  # the run that purged is named in the platform's log
    with platform_access("test reads the platform log"):
        audit.flush(audit.platform_log())
        assert PlatformAuditEntry.objects.filter(event="lifecycle.purge").count() == 1
