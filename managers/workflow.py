"""The seed's Workflow Manager: `from managers import WorkflowManager, WorkflowEngine`.

    WorkflowEngine.register("provision", [
        WorkflowEngine.Step("reserve", reserve, release),
        WorkflowEngine.Step("approve", signal="approved"),
    ])
    workflows = WorkflowManager()
    run = workflows.create_workflow_sync("acme", "provision", "automatic")
    workflows.signal_workflow_sync("acme", run["id"], "approved", {"by": "bob"})
    await workflows.get_workflow("acme", run["id"])       # the async twin

Thin over `workflow_mgr` (docs/workflows.md): every call runs in the named tenant's
context, so one tenant never sees nor signals another's runs. Sync methods `<name>_sync`,
async twins `<name>` (managers/twins.py).
"""

from __future__ import annotations

from managers.cache import _tenant
from managers.twins import async_twins
from workflow_mgr.definitions import Retry, Step  # no models: importable before setup

__all__ = ["WorkflowEngine", "WorkflowManager"]


class WorkflowEngine:
    """Definitions, registered in code by features: `register(name, steps)`, `action`,
    `Step`, `Retry`, `validate` (workflow_mgr.definitions)."""

    Step = Step
    Retry = Retry

    @staticmethod
    def register(name, steps, *, title="", strategy="automatic") -> dict:
        from workflow_mgr import definitions

        return definitions.register(name, steps, title=title, strategy=strategy)

    @staticmethod
    def action(name, fn=None):
        from workflow_mgr import definitions

        return definitions.action(name, fn)

    @staticmethod
    def validate(definition, compensation_strategy="automatic") -> dict:
        from workflow_mgr import definitions

        return definitions.validate(definitions.parse(definition), compensation_strategy)


def _as_dict(run, steps=False) -> dict:
    from workflow_mgr import selectors

    data = {
        "id": run.pk,
        "name": run.name,
        "state": run.state,
        "compensation_strategy": run.compensation_strategy,
        "progress": selectors.progress(run),
        "error": run.error,
        "input": run.input,
    }
    if steps:
        data["steps"] = [
            {"name": s.name, "phase": s.phase, "state": s.state, "attempts": s.attempts,
             "output": s.output, "error": s.error}
            for s in selectors.steps_of(run)
        ]  # fmt: skip
    return data


@async_twins
class WorkflowManager:
    def _scope(self, tenant_id):
        from tenancy.context import TenantRef, tenant_context

        return tenant_context(TenantRef.of(_tenant(tenant_id)))

    def create_workflow_sync(
        self, tenant_id, workflow_definition, compensation_strategy="automatic", *,
        input=None, actor="",
    ) -> dict:  # fmt: skip
        """Start a run of `workflow_definition` (a registered name, a mapping, JSON or
        YAML); `DefinitionError` (a ValueError) lists why a definition is refused."""
        from workflow_mgr import actions

        with self._scope(tenant_id):
            run = actions.create_run(
                workflow_definition, input=input,
                compensation_strategy=compensation_strategy, actor=actor,
            )  # fmt: skip
            return _as_dict(run)

    def get_workflow_sync(self, tenant_id, run_id) -> dict:
        """The run with its steps; LookupError for a missing (or another tenant's) run."""
        from workflow_mgr import selectors
        from workflow_mgr.models import WorkflowRun

        with self._scope(tenant_id):
            try:
                return _as_dict(selectors.access_run(run_id), steps=True)
            except WorkflowRun.DoesNotExist:
                raise LookupError(f"No workflow run {run_id!r}.") from None

    def list_workflows_sync(self, tenant_id, *, state=None, name=None, limit=100) -> list[dict]:
        from workflow_mgr import selectors

        with self._scope(tenant_id):
            return [_as_dict(r) for r in selectors.runs(state=state, name=name)[:limit]]

    def _change(self, tenant_id, change, run_id, *args, actor=""):
        from workflow_mgr import selectors
        from workflow_mgr.models import WorkflowRun

        with self._scope(tenant_id):
            try:
                run = selectors.access_run(run_id)
            except WorkflowRun.DoesNotExist:
                raise LookupError(f"No workflow run {run_id!r}.") from None
            change(run.pk, *args, actor=actor)
            return _as_dict(selectors.access_run(run.pk))

    def cancel_workflow_sync(self, tenant_id, run_id, *, actor="") -> dict:
        from workflow_mgr import actions

        return self._change(tenant_id, actions.cancel_run, run_id, actor=actor)

    def signal_workflow_sync(self, tenant_id, run_id, name, payload=None, *, actor="") -> dict:
        from workflow_mgr import actions

        return self._change(tenant_id, actions.signal_run, run_id, name, payload, actor=actor)

    def retry_workflow_sync(self, tenant_id, run_id, *, actor="") -> dict:
        from workflow_mgr import actions

        return self._change(tenant_id, actions.retry_run, run_id, actor=actor)

    def compensate_workflow_sync(self, tenant_id, run_id, *, actor="") -> dict:
        from workflow_mgr import actions

        return self._change(tenant_id, actions.compensate_run, run_id, actor=actor)
