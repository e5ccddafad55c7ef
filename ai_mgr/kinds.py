"""Model kinds: what a model is for and how it is trained. The registry ships the
seed's kinds; apps register theirs when they are ready (`register`), as jobs_mgr kinds."""

from __future__ import annotations

from dataclasses import dataclass

from ai_mgr.exceptions import UnknownKind

ISOLATION_FOREST = "isolation_forest"
LINEAR = "linear"  # least squares on the features, predicting `target`
EXTERNAL = "external"  # arrays produced elsewhere (an encoder), registered as they are


@dataclass(frozen=True)
class Kind:
    name: str
    algorithm: str
    title: str = ""
    min_rows: int = 20
    target: str = "target"  # LINEAR: the column predicted
    params: tuple = ()  # default training parameters, as (name, value) pairs


_kinds: dict[str, Kind] = {}


def register(name: str, algorithm: str, **options) -> Kind:
    kind = Kind(name, algorithm, **options)
    _kinds[name] = kind
    return kind


def get(name: str) -> Kind:
    try:
        return _kinds[name]
    except KeyError:
        raise UnknownKind(f"no model kind {name!r}; known: {', '.join(names())}") from None


def names() -> list[str]:
    return sorted(_kinds)


register("anomaly_detector", ISOLATION_FOREST, title="Anomaly detector")
register("session_behaviour", ISOLATION_FOREST, title="Session behaviour", min_rows=200)
register("load_forecaster", LINEAR, title="Load forecaster")
# The seed's names: train_model(model_type="performance_predictor"), predict(
# model_name="load_forecasting").
register("performance_predictor", LINEAR, title="Performance predictor")
register("load_forecasting", LINEAR, title="Load forecasting")
register("search_encoder", EXTERNAL, title="Search encoder", min_rows=1)
