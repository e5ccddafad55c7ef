"""Training: `train_model(model_type=..., training_data=...)` as in the seed, run as a
jobs_mgr job (kind `ai.train`) on a Celery worker, with progress.

The job validates the data (`BadTrainingData`: NaN, too few rows, missing columns),
fits, measures on a holdout, then creates the version and moves its alias in one
transaction. A failure at any point leaves the registry as it was: the champion keeps
serving. The first version of a model becomes its champion; later ones become the
`challenger` unless the caller asks to promote (`promote="champion"`)."""

from __future__ import annotations

from ai_mgr import actions, kinds, sources
from ai_mgr.algorithms import FITTERS, reference
from ai_mgr.data import training_matrix
from ai_mgr.exceptions import AIError, BadTrainingData
from ai_mgr.kinds import LINEAR
from ai_mgr.models import ModelAlias
from jobs_mgr import registry
from jobs_mgr.engine import JobContext
from tenancy import db as tenant_db

TRAIN = "ai.train"
MAX_INLINE_ROWS = 100_000


def _params(kind, given) -> dict:
    params = dict(kind.params)
    if given is not None and not isinstance(given, dict):
        raise AIError("`params` must be an object", code="bad_params")
    params.update(given or {})
    return params


def train_now(
    *, model_type: str, training_data=None, model_name: str | None = None, params=None,
    promote: str | None = None, source: str = "", actor: str = "", features=None,
) -> dict:  # fmt: skip
    """Train synchronously in the current tenant; returns the version's summary."""
    kind = kinds.get(model_type)
    if kind.algorithm not in FITTERS:
        raise AIError(f"{model_type} models are registered, not trained", code="not_trainable")
    name = model_name or model_type
    if training_data is None:
        if not source:
            raise BadTrainingData("give training_data, or a model with a data source")
        training_data = sources.fetch(source)
    params = _params(kind, params)
    matrix = training_matrix(
        training_data, target=kind.target if kind.algorithm == LINEAR else None,
        min_rows=kind.min_rows, features=features,
    )  # fmt: skip
    arrays, metrics = FITTERS[kind.algorithm](matrix, params)
    lineage = {
        "params": params, "features": matrix.features, "data_from": matrix.data_from,
        "data_to": matrix.data_to, "data_rows": len(matrix.x),
        "data_fingerprint": matrix.fingerprint(), "metrics": metrics,
        "reference": reference(matrix.x, matrix.features), "trained_by": actor[:150],
    }  # fmt: skip
    with tenant_db.atomic():  # the tenant's database (a dedicated one too)
        model = actions.ensure_model(name, model_type, source=source)
        version = actions.create_version(model, arrays, algorithm=kind.algorithm, lineage=lineage)
        first = not ModelAlias.objects.filter(model=model, name=actions.CHAMPION).exists()
        alias = promote or (actions.CHAMPION if first else actions.CHALLENGER)
        actions.promote(
            name, version.number, alias=alias, actor=actor or "training", reason="trained"
        )
    return {"model": name, "version": version.number, "alias": alias, "metrics": metrics}


def train_model(
    *, model_type: str, training_data=None, model_name: str | None = None, params=None,
    promote: str | None = None, source: str = "", actor: str = "", send: bool = True,
):  # fmt: skip
    """Queue a training job of the current tenant; returns the jobs_mgr Job. The data is
    checked here first, so bad data is a 400 now rather than a failed job later."""
    kind = kinds.get(model_type)
    if training_data is not None:
        if isinstance(training_data, list) and len(training_data) > MAX_INLINE_ROWS:
            raise BadTrainingData(f"at most {MAX_INLINE_ROWS} inline rows; use a data source")
        training_matrix(
            training_data, target=kind.target if kind.algorithm == LINEAR else None,
            min_rows=kind.min_rows,
        )  # fmt: skip
    elif not source:
        raise BadTrainingData("give training_data, or a data source")
    from jobs_mgr.actions import enqueue_job

    job_params = {
        "model_type": model_type, "model_name": model_name or model_type, "params": params or {},
        "promote": promote or "", "source": source, "training_data": training_data,
    }  # fmt: skip
    return enqueue_job(TRAIN, job_params, total=2, actor=actor, send=send)


def _run(ctx: JobContext) -> dict:
    p = ctx.params
    with ctx.step():
        ctx.save({"stage": "training"}, done=1, total=2)
    result = train_now(
        model_type=p["model_type"], training_data=p.get("training_data"),
        model_name=p.get("model_name"), params=p.get("params"), promote=p.get("promote") or None,
        source=p.get("source", ""), actor=ctx.job.requested_by or "training job",
    )  # fmt: skip
    with ctx.step():
        ctx.save({"stage": "done"}, done=2, total=2)
    return result


registry.register(TRAIN, _run, title="AI model training")
