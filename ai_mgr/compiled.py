"""Trained IsolationForests compiled into flat numpy arrays, scored without scikit-learn.

scikit-learn's `score_samples` validates its input, then calls `tree.apply` once per tree
(joblib, a lock, one Python call each): about 10 ms for one row with 100 trees. Here the
stored arrays (`feature`, `threshold`, `left`, `right`, `leaf_value`, one entry per node,
leaves pointing at themselves) are laid out again when loaded, for two walks:

- one row walks every tree *together*: node ids are doubled, so a step is one gather
  each of the nodes' features, thresholds and the row's values, then `child[2 * node +
  goes_left]` (children interleaved right, left): `depth` steps (8 for 256 samples) of
  arrays of `n_trees` elements reach every leaf, with no `np.where` and no 2-D indexing;
- a batch walks one tree at a time over all its rows (the tree's arrays stay in cache,
  and each row's value is gathered from the flat row-major input), in chunks of
  BATCH_CHUNK rows.

Exactly the same scores: the input is cast to float32 first, as scikit-learn's
`validate_data` does, and compared with each threshold rounded *down* to float32 (for a
float32 x, `x <= t` holds exactly when `x <= the largest float32 <= t`, so halving the
width changes no decision; NaN goes right as in the tree's Cython). Each leaf holds
`decision_path_length + average_path_length - 1` of its tree, which is what scikit-learn
adds per tree; the score is `-2 ** (-depth_sum / (n_trees * c(max_samples)))`. Only the
order of the per-tree sum may differ (numpy's pairwise sum), below 1e-12 (tests/ai:
hypothesis).

The arrays are all an artifact holds (`ai_mgr.artifacts`): nothing is ever unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

ALGORITHM = "isolation_forest"


def _average_path_length(n: float) -> float:
    # c(n) of Liu et al., as scikit-learn computes it for one value.
    if n <= 1:
        return 0.0
    if n <= 2:
        return 1.0
    return 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n


@dataclass(frozen=True)
class CompiledForest:
    feature: np.ndarray  # int64, the column each node tests (leaves: 0)
    threshold: np.ndarray  # float64 (leaves: +inf, so the walk stays put)
    left: np.ndarray  # int64, absolute index of the left child (leaves: themselves)
    right: np.ndarray  # int64
    leaf_value: np.ndarray  # float64, the depth a row ending on this node adds
    roots: np.ndarray  # int64, each tree's root
    depth: int  # steps enough to reach every leaf
    denominator: float  # n_trees * c(max_samples)
    n_features: int

    algorithm = ALGORITHM

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "feature": self.feature,
            "threshold": self.threshold,
            "left": self.left,
            "right": self.right,
            "leaf_value": self.leaf_value,
            "roots": self.roots,
            "meta": np.array([self.depth, self.denominator, self.n_features], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CompiledForest:
        depth, denominator, n_features = arrays["meta"].tolist()
        return cls(
            feature=arrays["feature"].astype(np.int64, copy=False),
            threshold=arrays["threshold"].astype(np.float64, copy=False),
            left=arrays["left"].astype(np.int64, copy=False),
            right=arrays["right"].astype(np.int64, copy=False),
            leaf_value=arrays["leaf_value"].astype(np.float64, copy=False),
            roots=arrays["roots"].astype(np.int64, copy=False),
            depth=int(depth),
            denominator=float(denominator),
            n_features=int(n_features),
        )

    @cached_property
    def _walk(self) -> _Walk:
        return _Walk.of(self)

    def _finish(self, depths):
        if self.denominator == 0:  # one training sample: scikit-learn divides as 1
            return -np.full_like(depths, 0.5)
        return -np.power(2.0, -depths / self.denominator)

    def score_one(self, row) -> float:
        """scikit-learn's `score_samples([row])[0]`."""
        w = self._walk
        x = np.asarray(row, dtype=np.float32).reshape(-1)
        feature, threshold, child = w.feature2, w.threshold2, w.child2
        nodes = w.roots2
        for _ in range(self.depth):
            nodes = child[nodes + (x[feature[nodes]] <= threshold[nodes])]
        if self.denominator == 0:
            return -0.5
        return -(2.0 ** (-float(w.leaf2[nodes].sum()) / self.denominator))

    def score_samples(self, rows) -> np.ndarray:
        x = np.asarray(rows, dtype=np.float32)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        out = np.empty(x.shape[0])
        for start in range(0, x.shape[0], BATCH_CHUNK):
            out[start : start + BATCH_CHUNK] = self._walk.depth_sums(
                x[start : start + BATCH_CHUNK], self.depth
            )
        return self._finish(out)


BATCH_CHUNK = 16_384


def _down_to_float32(threshold: np.ndarray) -> np.ndarray:
    t32 = threshold.astype(np.float32)
    over = t32.astype(np.float64) > threshold
    t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
    return t32


@dataclass(frozen=True)
class _Walk:
    """The layouts the walks read, built once per loaded forest (see the module doc)."""

    feature2: np.ndarray  # intp, node 2k and 2k+1 both hold node k's feature
    threshold2: np.ndarray  # float32, rounded down
    child2: np.ndarray  # intp, [2k] = 2 * right child, [2k+1] = 2 * left child
    leaf2: np.ndarray  # float64
    roots2: np.ndarray  # intp
    trees: tuple  # per tree: (feature2, threshold2, child2, leaf2), tree-local ids

    @classmethod
    def of(cls, forest: CompiledForest) -> _Walk:
        feature = forest.feature.astype(np.intp)
        threshold = _down_to_float32(forest.threshold)
        child = np.empty(2 * len(feature), dtype=np.intp)
        child[0::2] = 2 * forest.right
        child[1::2] = 2 * forest.left
        leaf2 = np.repeat(forest.leaf_value, 2)
        feature2, threshold2 = np.repeat(feature, 2), np.repeat(threshold, 2)
        bounds = [*forest.roots.tolist(), len(feature)]
        trees = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            trees.append(
                (feature2[2 * a : 2 * b], threshold2[2 * a : 2 * b],
                 child[2 * a : 2 * b] - 2 * a, leaf2[2 * a : 2 * b])
            )  # fmt: skip
        return cls(
            feature2, threshold2, child, leaf2, (2 * forest.roots).astype(np.intp), tuple(trees)
        )

    def depth_sums(self, x: np.ndarray, depth: int) -> np.ndarray:
        """Each row's summed depth over the trees, one tree at a time."""
        n, width = x.shape
        values = np.ascontiguousarray(x).reshape(-1)  # column k of row r at r * width + k
        row_start = np.arange(n, dtype=np.intp) * width
        per_tree = np.empty((len(self.trees), n))
        for index, (feature, threshold, child, leaf) in enumerate(self.trees):
            nodes = np.zeros(n, dtype=np.intp)
            for _ in range(depth):
                at = feature[nodes]
                at += row_start
                nodes = child[nodes + (values[at] <= threshold[nodes])]
            per_tree[index] = leaf[nodes]
        return per_tree.sum(axis=0)


def compile_isolation_forest(estimator) -> CompiledForest:
    """Flatten a fitted `sklearn.ensemble.IsolationForest`."""
    features, thresholds, lefts, rights, values, roots = [], [], [], [], [], []
    offset, depth = 0, 0
    for index, (tree, columns) in enumerate(
        zip(estimator.estimators_, estimator.estimators_features_, strict=True)
    ):
        t = tree.tree_
        n = t.node_count
        leaf = t.children_left == -1
        own = np.arange(n, dtype=np.int64)
        features.append(np.where(leaf, 0, np.asarray(columns)[np.maximum(t.feature, 0)]))
        thresholds.append(np.where(leaf, np.inf, t.threshold))
        lefts.append(np.where(leaf, own, t.children_left) + offset)
        rights.append(np.where(leaf, own, t.children_right) + offset)
        values.append(
            np.where(
                leaf,
                estimator._decision_path_lengths[index]
                + estimator._average_path_length_per_tree[index]
                - 1.0,
                0.0,
            )
        )
        roots.append(offset)
        depth = max(depth, int(t.max_depth))
        offset += n
    max_samples = estimator._max_samples
    return CompiledForest(
        feature=np.concatenate(features).astype(np.int64),
        threshold=np.concatenate(thresholds).astype(np.float64),
        left=np.concatenate(lefts).astype(np.int64),
        right=np.concatenate(rights).astype(np.int64),
        leaf_value=np.concatenate(values).astype(np.float64),
        roots=np.asarray(roots, dtype=np.int64),
        depth=depth,
        denominator=float(len(estimator.estimators_) * _average_path_length(max_samples)),
        n_features=int(estimator.n_features_in_),
    )
