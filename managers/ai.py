"""The seed's AI manager: `from managers import AIManager, MLModelManager`.

    ai_manager = AIManager()                    # the current tenant, or AIManager("acme")
    await ai_manager.train_model(model_type="performance_predictor",
                                 training_data=historical_data)
    prediction = await ai_manager.predict(model_name="load_forecasting",
                                          input_data=current_metrics)

    registry = MLModelManager("acme")
    registry.promote_sync("detector", 3)        # champion; audited
    registry.served_at_sync("detector", when)   # which version served then

Thin over `ai_mgr` (its actions, selectors, training and inference). Every call runs in
one tenant's context: the manager's tenant, else `tenant_id=`, else the caller's
context. Errors are ai_mgr's typed errors (`ai_mgr.exceptions.AIError`: `status`,
`code`). Sync methods `<name>_sync`, async twins `<name>` (managers/twins.py).
"""

from __future__ import annotations

import contextlib

from managers.cache import _tenant
from managers.twins import async_twins

__all__ = ["AIManager", "MLModelManager"]


class _Scoped:
    def __init__(self, tenant_id=None):
        self.tenant_id = tenant_id

    def _scope(self, tenant_id=None):
        from tenancy.context import TenantRef, require_tenant_id, tenant_context

        ref = tenant_id if tenant_id is not None else self.tenant_id
        if ref is None:
            require_tenant_id("AIManager without a tenant_id")
            return contextlib.nullcontext()
        return tenant_context(TenantRef.of(_tenant(ref)))


def _version(v) -> dict:
    from ai_mgr.api.views import version_body

    return version_body(v)


@async_twins
class AIManager(_Scoped):
    def train_model_sync(
        self, model_type, training_data=None, *, model_name=None, params=None, promote=None,
        wait=True, tenant_id=None, actor="",
    ) -> dict:  # fmt: skip
        """Train a model of `model_type` (a kind: `ai_mgr.kinds.names()`) on the given
        rows, as a training job. `wait=True` runs the job here and returns its result
        (version, alias, holdout metrics); `wait=False` leaves it to a Celery worker and
        returns the queued job. `BadTrainingData` names what is wrong with the data."""
        from ai_mgr import training
        from jobs_mgr import engine

        with self._scope(tenant_id):
            job = training.train_model(
                model_type=model_type, training_data=training_data, model_name=model_name,
                params=params, promote=promote, actor=actor, send=not wait,
            )  # fmt: skip
            if wait:
                job = engine.run_job(job.pk)
                if job.state != "succeeded":
                    from ai_mgr.exceptions import AIError

                    raise AIError(f"training failed: {job.last_error}", code="training_failed")
                return {"job": job.pk, "state": job.state, **(job.result or {})}
            return {"job": job.pk, "state": job.state, "model": job.params["model_name"]}

    def predict_sync(self, model_name, input_data, *, alias="champion", tenant_id=None) -> dict:
        """Score `input_data` (one row as a dict, or a list of rows) with the model's
        aliased version: anomaly detectors give `anomaly_score`, others `prediction`."""
        from ai_mgr import inference

        with self._scope(tenant_id):
            return inference.predict(model_name, input_data, alias=alias)

    def check_drift_sync(self, *, tenant_id=None) -> dict:
        """PSI per feature of each model with a data source whose champion drifted."""
        from ai_mgr import drift

        with self._scope(tenant_id):
            return {model.name: scores for model, scores in drift.drifted_models()}


@async_twins
class MLModelManager(_Scoped):
    def list_models_sync(self, *, tenant_id=None) -> list[dict]:
        from ai_mgr import selectors

        with self._scope(tenant_id):
            return [
                {"name": m.name, "kind": m.kind, "aliases": selectors.aliases_of(m)}
                for m in selectors.models_of_tenant()
            ]

    def list_versions_sync(self, model_name, *, tenant_id=None) -> list[dict]:
        from ai_mgr import selectors

        with self._scope(tenant_id):
            return [_version(v) for v in selectors.versions_of(selectors.access_model(model_name))]

    def promote_sync(
        self, model_name, version, *, alias="champion", reason="", actor="", tenant_id=None
    ) -> dict:
        from ai_mgr import actions

        with self._scope(tenant_id):
            event = actions.promote(model_name, version, alias=alias, actor=actor, reason=reason)
            return {"model": model_name, "alias": alias, "version": event.version.number}

    def rollback_sync(
        self, model_name, *, alias="champion", reason="", actor="", tenant_id=None
    ) -> dict:
        from ai_mgr import actions

        with self._scope(tenant_id):
            event = actions.rollback(model_name, alias=alias, actor=actor, reason=reason)
            return {"model": model_name, "alias": alias, "version": event.version.number}

    def served_at_sync(self, model_name, when, *, alias="champion", tenant_id=None) -> int | None:
        """The version number `alias` pointed at, at `when` (None: not yet)."""
        from ai_mgr import selectors

        with self._scope(tenant_id):
            event = selectors.served_at(selectors.access_model(model_name), when, alias)
            return event.version.number if event else None
