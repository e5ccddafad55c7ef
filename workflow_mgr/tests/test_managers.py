"""The seed's facade: `create_workflow(tenant_id, workflow_definition,
compensation_strategy)` and friends, each in the named tenant only."""

import asyncio

import pytest

from managers import WorkflowEngine, WorkflowManager
from workflow_mgr.definitions import DefinitionError

pytestmark = pytest.mark.django_db


def test_create_signal_and_read_through_the_facade(
    tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    manager = WorkflowManager()
    with django_capture_on_commit_callbacks(execute=True):
        run = manager.create_workflow_sync(tenant_alpha.slug, "t.approval", "automatic")
    assert run["name"] == "t.approval"
    assert manager.get_workflow_sync(tenant_alpha.pk, run["id"])["state"] == "waiting"
    with pytest.raises(LookupError):
        manager.signal_workflow_sync(tenant_beta.pk, run["id"], "approved")  # not theirs
    assert manager.list_workflows_sync(tenant_beta.pk) == []
    with django_capture_on_commit_callbacks(execute=True):
        manager.signal_workflow_sync(tenant_alpha.pk, run["id"], "approved", {"by": "bob"})
    done = manager.get_workflow_sync(tenant_alpha.pk, run["id"])
    assert done["state"] == "succeeded"
    assert [(s["name"], s["state"]) for s in done["steps"]] == [
        ("reserve", "succeeded"), ("approve", "succeeded"), ("ship", "succeeded"),
    ]  # fmt: skip
    assert asyncio.iscoroutinefunction(manager.get_workflow)  # the async twin


def test_an_invalid_definition_is_refused(tenant_alpha):
    with pytest.raises(DefinitionError, match="has no compensation"):
        WorkflowManager().create_workflow_sync(
            tenant_alpha.pk,
            {"name": "x", "steps": [{"name": "a", "action": "t.make"}]},
            "automatic",
        )
    assert WorkflowEngine.validate(
        {"name": "x", "steps": [{"name": "a", "action": "t.make"}]}, "manual"
    )
