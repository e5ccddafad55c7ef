"""`predict(model_name=..., input_data=...)`: the seed's call, through the registry.

The aliased version comes from the loader's cache (ai_mgr.loader); the input is checked
against the version's features (`BadInput` names what is missing or unexpected) and
scored by the compiled arrays. Anomaly detectors answer scikit-learn's `score_samples`
(`raw_score`) and Liu et al.'s anomaly score `-raw_score` in [0, 1] (about 0.5 is
ordinary, near 1 isolated); the others their prediction."""

from __future__ import annotations

from ai_mgr.data import input_rows
from ai_mgr.kinds import ISOLATION_FOREST
from ai_mgr.loader import load


def predict(model_name: str, input_data, *, alias: str = "champion") -> dict:
    loaded = load(str(model_name), alias)
    rows, single = input_rows(input_data, loaded.features)
    if loaded.algorithm == ISOLATION_FOREST:
        if single:
            raw = loaded.scorer.score_one(rows[0])
            values = {"raw_score": raw, "anomaly_score": -raw}
        else:
            raw = loaded.scorer.score_samples(rows)
            values = {"raw_scores": raw.tolist(), "anomaly_scores": (-raw).tolist()}
    else:
        out = loaded.scorer.predict(rows)
        values = {"prediction": float(out[0])} if single else {"predictions": out.tolist()}
    return {"model": loaded.model, "alias": alias, "version": loaded.number, **values}
