"""The compiled IsolationForest scores exactly as scikit-learn's `score_samples`, on
random forests and random data (hypothesis), one row and batches."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import IsolationForest

from ai_mgr import artifacts
from ai_mgr.compiled import CompiledForest, compile_isolation_forest


@st.composite
def forests(draw):
    n_features = draw(st.integers(1, 6))
    n_rows = draw(st.integers(2, 300))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    x = rng.normal(size=(n_rows, n_features)) * scale
    if draw(st.booleans()):  # ties and constant columns
        x = np.round(x, 1)
    estimator = IsolationForest(
        n_estimators=draw(st.integers(1, 60)),
        max_samples=draw(st.sampled_from(["auto", 0.5, 1.0, min(16, n_rows)])),
        max_features=draw(st.sampled_from([1.0, 0.5])),
        bootstrap=draw(st.booleans()),
        random_state=seed,
    ).fit(x)
    queries = rng.normal(size=(draw(st.integers(1, 50)), n_features)) * scale * 3
    return estimator, queries


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forests())
def test_compiled_forest_equals_sklearn_score_samples(case):
    estimator, queries = case
    compiled = compile_isolation_forest(estimator)
    expected = estimator.score_samples(queries)
    np.testing.assert_allclose(compiled.score_samples(queries), expected, rtol=0, atol=1e-12)
    for row, want in zip(queries[:5], expected[:5], strict=False):
        assert abs(compiled.score_one(row) - want) <= 1e-12


def test_compiled_forest_round_trips_through_an_artifact():
    x = np.random.default_rng(1).normal(size=(200, 3))
    estimator = IsolationForest(n_estimators=20, random_state=0).fit(x)
    data = artifacts.pack(compile_isolation_forest(estimator).arrays())
    loaded = CompiledForest.from_arrays(artifacts.unpack(data))
    np.testing.assert_allclose(loaded.score_samples(x), estimator.score_samples(x), atol=1e-12)


def test_compiled_forest_one_training_row_scores_like_sklearn():
    estimator = IsolationForest(n_estimators=5, random_state=0).fit([[1.0, 2.0]])
    compiled = compile_isolation_forest(estimator)
    assert compiled.score_one([3.0, 4.0]) == estimator.score_samples([[3.0, 4.0]])[0]


def test_compiled_forest_rows_on_the_thresholds_score_like_sklearn():
    # float32 neighbours of every split: the rounded-down float32 thresholds must take
    # the same branch as scikit-learn's float64 comparison, value by value.
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3)) * 1e3
    estimator = IsolationForest(n_estimators=30, random_state=0).fit(x)
    compiled = compile_isolation_forest(estimator)
    split = np.isfinite(compiled.threshold)
    t32 = compiled.threshold[split].astype(np.float32)
    near = np.concatenate(
        [t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))]
    )
    queries = np.resize(near, (len(near) // 3) * 3).reshape(-1, 3).astype(np.float64)
    expected = estimator.score_samples(queries)
    np.testing.assert_allclose(compiled.score_samples(queries), expected, rtol=0, atol=1e-12)
    for row, want in zip(queries[:200], expected[:200], strict=False):
        assert abs(compiled.score_one(row) - want) <= 1e-12


def test_compiled_forest_batch_in_chunks_scores_like_sklearn(monkeypatch):
    from ai_mgr import compiled as module

    monkeypatch.setattr(module, "BATCH_CHUNK", 7)
    x = np.random.default_rng(2).normal(size=(100, 4))
    estimator = IsolationForest(n_estimators=10, random_state=0).fit(x)
    scores = compile_isolation_forest(estimator).score_samples(x[:50])
    np.testing.assert_allclose(scores, estimator.score_samples(x[:50]), rtol=0, atol=1e-12)
