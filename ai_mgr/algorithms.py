"""Fitting and scoring per algorithm. Fitting returns the arrays an artifact stores and
the holdout metrics; `scorer(algorithm, arrays)` rebuilds what predicts from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai_mgr.compiled import CompiledForest, compile_isolation_forest
from ai_mgr.data import Matrix
from ai_mgr.exceptions import BadTrainingData
from ai_mgr.kinds import EXTERNAL, ISOLATION_FOREST, LINEAR

HOLDOUT = 0.2


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, int(n * HOLDOUT))
    return order[cut:], order[:cut]


def fit_isolation_forest(matrix: Matrix, params: dict) -> tuple[dict, dict]:
    from sklearn.ensemble import IsolationForest

    seed = int(params.get("random_state", 0))
    train, hold = _split(len(matrix.x), seed)
    estimator = IsolationForest(
        n_estimators=int(params.get("n_estimators", 100)),
        max_samples=params.get("max_samples", "auto"),
        contamination=params.get("contamination", "auto"),
        random_state=seed,
    ).fit(matrix.x[train])
    compiled = compile_isolation_forest(estimator)
    scores = -compiled.score_samples(matrix.x[hold])  # Liu et al.'s s, ~0.5 is ordinary
    metrics = {
        "holdout_rows": int(len(hold)),
        "holdout_score_mean": round(float(scores.mean()), 6),
        "holdout_score_p99": round(float(np.quantile(scores, 0.99)), 6),
        "offset": float(estimator.offset_),
    }
    return compiled.arrays(), metrics


def fit_linear(matrix: Matrix, params: dict) -> tuple[dict, dict]:
    train, hold = _split(len(matrix.x), int(params.get("random_state", 0)))
    design = np.column_stack([matrix.x[train], np.ones(len(train))])
    solution, *_ = np.linalg.lstsq(design, matrix.y[train], rcond=None)
    model = LinearModel(solution[:-1], float(solution[-1]))
    error = model.predict(matrix.x[hold]) - matrix.y[hold]
    actual = np.abs(matrix.y[hold])
    mape = (
        float(np.mean(np.abs(error)[actual > 0] / actual[actual > 0]))
        if (actual > 0).any()
        else None
    )
    metrics = {
        "holdout_rows": int(len(hold)),
        "mae": round(float(np.mean(np.abs(error))), 6),
        "rmse": round(float(np.sqrt(np.mean(error**2))), 6),
        "mape": None if mape is None else round(mape, 6),
    }
    return model.arrays(), metrics


@dataclass(frozen=True)
class LinearModel:
    coef: np.ndarray
    intercept: float

    def arrays(self) -> dict:
        return {
            "coef": np.asarray(self.coef, dtype=np.float64),
            "intercept": np.array([self.intercept]),
        }

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.coef + self.intercept


@dataclass(frozen=True)
class External:
    arrays_: dict

    def predict(self, rows: np.ndarray) -> np.ndarray:
        weights = self.arrays_.get("weights")
        if weights is None:
            raise BadTrainingData("this external model has no `weights` array to apply")
        return rows @ weights


FITTERS = {ISOLATION_FOREST: fit_isolation_forest, LINEAR: fit_linear}


def scorer(algorithm: str, arrays: dict):
    if algorithm == ISOLATION_FOREST:
        return CompiledForest.from_arrays(arrays)
    if algorithm == LINEAR:
        return LinearModel(arrays["coef"], float(arrays["intercept"][0]))
    if algorithm == EXTERNAL:
        return External(arrays)
    raise BadTrainingData(f"unknown algorithm {algorithm!r}")


def reference(x: np.ndarray, features: list[str], bins: int = 10) -> dict:
    """Each feature's decile edges and the share of training rows per bin: the drift
    check's reference (ai_mgr.drift)."""
    out = {}
    for i, name in enumerate(features):
        edges = np.unique(np.quantile(x[:, i], np.linspace(0, 1, bins + 1)[1:-1]))
        counts = np.bincount(
            np.searchsorted(edges, x[:, i], side="right"), minlength=len(edges) + 1
        )
        out[name] = {"edges": edges.tolist(), "shares": (counts / counts.sum()).tolist()}
    return out
