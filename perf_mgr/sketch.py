"""A mergeable quantile sketch: counts in logarithmic buckets (the idea of DDSketch and
of Prometheus' native histograms).

A positive value v falls in bucket k = ceil(log_γ v), γ = 2^(1/16), i.e. (γ^(k-1), γ^k];
the bucket answers 2γ^k / (γ + 1), within ±2.2 % of any value in it. Negative values use
the buckets of |v|, zero has its own. Each bucket has an integer *code* ordered like the
values (`OFFSET + k` above zero, `-OFFSET - k` below, 0 for zero), so a sketch is two
lists, `[codes, counts]`, stored as JSON as it is and merged by adding counts: minutes
into an hour, hours into a day, with the same relative error for any window. Merging
many sketches (a day of series) is done in numpy: Python loops over their entries cost
more than the query that read them. Quantiles use the nearest rank rounded down and are
clamped to the window's exact min and max.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

SUBDIVISIONS = 16  # buckets per doubling
GAMMA = 2.0 ** (1.0 / SUBDIVISIONS)
_LOG_GAMMA = math.log(GAMMA)
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
# Below this magnitude a value counts as zero (a float's subnormal range).
ZERO_BELOW = 1e-300
# |k| stays under 16,400 for doubles: codes of positive values above 20,000 - 16,400.
OFFSET = 20_000


def code(value: float) -> int:
    magnitude = abs(value)
    if magnitude < ZERO_BELOW:
        return 0
    k = math.ceil(math.log(magnitude) / _LOG_GAMMA)
    return OFFSET + k if value > 0 else -OFFSET - k


def representative(c: int) -> float:
    if c == 0:
        return 0.0
    k = c - OFFSET if c > 0 else -c - OFFSET
    value = 2.0 * GAMMA**k / (GAMMA + 1.0)
    return value if c > 0 else -value


def of_values(values: Iterable[float]) -> dict:
    """{code: count} of some values."""
    sketch: dict[int, int] = {}
    for value in values:
        c = code(value)
        sketch[c] = sketch.get(c, 0) + 1
    return sketch


def add(sketch: dict, other: dict) -> dict:
    """Add `other`'s counts into `sketch` (in place) and return it."""
    for c, count in other.items():
        sketch[c] = sketch.get(c, 0) + count
    return sketch


def pack(sketch: dict) -> list:
    """The stored form: [codes, counts], codes ascending."""
    codes = sorted(sketch)
    return [codes, [sketch[c] for c in codes]]


def unpack(stored) -> dict:
    if not stored:
        return {}
    return dict(zip(stored[0], stored[1], strict=True))


def as_arrays(stored) -> tuple:
    """A stored sketch as numpy arrays, converted once however often it is merged."""
    if not stored:
        return ()
    return np.asarray(stored[0], dtype=np.int64), np.asarray(stored[1], dtype=np.int64)


def _quantiles_sorted(codes: np.ndarray, counts: np.ndarray, qs, lo, hi) -> list:
    total = int(counts.sum())
    if total <= 0:
        return [None] * len(qs)
    cumulative = np.cumsum(counts)
    answers = []
    for q in qs:
        # The first bucket whose cumulative count passes the rank q·(n-1), rounded down.
        index = int(np.searchsorted(cumulative, math.floor(q * (total - 1)), side="right"))
        value = representative(int(codes[min(index, len(codes) - 1)]))
        if lo is not None:
            value = max(value, lo)
        if hi is not None:
            value = min(value, hi)
        answers.append(value)
    return answers


def quantiles_of_parts(parts: list, qs, lo=None, hi=None) -> list:
    """Quantiles of the sum of stored-form sketches `parts` ([codes, counts] each)."""
    qs = list(qs)
    parts = [p for p in parts if len(p) and len(p[0])]
    if not parts:
        return [None] * len(qs)
    codes = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
    counts = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts])
    unique, inverse = np.unique(codes, return_inverse=True)
    summed = np.bincount(inverse, weights=counts).astype(np.int64)
    return _quantiles_sorted(unique, summed, qs, lo, hi)


def quantiles(sketch: dict, qs, lo=None, hi=None) -> list:
    return quantiles_of_parts([pack(sketch)], qs, lo, hi)


def quantile(sketch: dict, q: float, lo=None, hi=None):
    return quantiles(sketch, [q], lo, hi)[0]
