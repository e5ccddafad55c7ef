"""Trained IsolationForests compiled into flat numpy arrays, scored without scikit-learn.

scikit-learn's `score_samples` validates its input, then calls `tree.apply` once per tree
(joblib, a lock, one Python call each): about 10 ms for one row with 100 trees. Here
every tree's nodes live in four concatenated arrays (`feature`, `threshold`, `left`,
`right`) and leaves point at themselves, so all trees walk *together*: one step moves
every tree's current node one level down, `depth` steps (8 for 256 samples) reach every
leaf. One row costs a few dozen numpy calls over arrays of `n_trees` elements; a batch
walks a (rows x trees) matrix of nodes the same way.

Exactly the same scores: the input is cast to float32 first, as scikit-learn's
`validate_data` does, and compared with the float64 thresholds (C's promotion, as in the
tree's Cython); each leaf holds `decision_path_length + average_path_length - 1` of
its tree, which is what scikit-learn adds per tree; the score is
`-2 ** (-depth_sum / (n_trees * c(max_samples)))`. Only the order of the per-tree sum
differs (numpy's pairwise sum), below 1e-12 (tests/ai: hypothesis).

The arrays are all an artifact holds (`ai_mgr.artifacts`): nothing is ever unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def _depths(self, nodes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        feature, threshold, left, right = self.feature, self.threshold, self.left, self.right
        for _ in range(self.depth):
            go_left = (
                rows[..., feature[nodes]] <= threshold[nodes]
                if rows.ndim == 1
                else (np.take_along_axis(rows, feature[nodes], axis=1) <= threshold[nodes])
            )
            nodes = np.where(go_left, left[nodes], right[nodes])
        return self.leaf_value[nodes].sum(axis=-1)

    def _finish(self, depths):
        if self.denominator == 0:  # one training sample: scikit-learn divides as 1
            return -np.full_like(depths, 0.5)
        return -np.power(2.0, -depths / self.denominator)

    def score_one(self, row) -> float:
        """scikit-learn's `score_samples([row])[0]`."""
        x = np.asarray(row, dtype=np.float32).astype(np.float64)
        return float(self._finish(self._depths(self.roots, x)))

    def score_samples(self, rows) -> np.ndarray:
        x = np.asarray(rows, dtype=np.float32).astype(np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        nodes = np.broadcast_to(self.roots, (x.shape[0], self.roots.shape[0]))
        return self._finish(self._depths(nodes, x))


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
