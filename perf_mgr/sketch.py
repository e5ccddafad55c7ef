"""A mergeable quantile sketch: counts in logarithmic buckets (the idea of DDSketch and
of Prometheus' native histograms).

A positive value v falls in bucket k = ceil(log_γ v), γ = 2^(1/16), i.e. (γ^(k-1), γ^k];
the bucket answers 2γ^k / (γ + 1), within ±2.2 % of any value in it. Negative values use
the same buckets of |v|, zero has its own. A sketch is a dict `{key: count}` whose keys
are strings (`"+k"`, `"-k"`, `"0"`) so that it is stored as JSON as it is, and merged by
adding counts: roll-ups of a minute add into an hour, hours into a day, and a quantile
of any window is read from the sum with the same relative error. Quantiles are clamped
to the window's exact min and max.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SUBDIVISIONS = 16  # buckets per doubling
GAMMA = 2.0 ** (1.0 / SUBDIVISIONS)
_LOG_GAMMA = math.log(GAMMA)
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
# Below this magnitude a value counts as zero (a float's subnormal range).
ZERO_BELOW = 1e-300


def bucket_key(value: float) -> str:
    magnitude = abs(value)
    if magnitude < ZERO_BELOW:
        return "0"
    k = math.ceil(math.log(magnitude) / _LOG_GAMMA)
    return f"+{k}" if value > 0 else f"-{k}"


def _representative(key: str) -> float:
    if key == "0":
        return 0.0
    k = int(key[1:])
    value = 2.0 * GAMMA**k / (GAMMA + 1.0)
    return value if key[0] == "+" else -value


def _order(key: str) -> float:
    return _representative(key)


def add(sketch: dict, other: dict) -> dict:
    """Add `other`'s counts into `sketch` (in place) and return it."""
    for key, count in other.items():
        sketch[key] = sketch.get(key, 0) + count
    return sketch


def of_values(values: Iterable[float]) -> dict:
    sketch: dict[str, int] = {}
    for value in values:
        key = bucket_key(value)
        sketch[key] = sketch.get(key, 0) + 1
    return sketch


def quantiles(sketch: dict, qs: Iterable[float], lo: float | None = None, hi: float | None = None):
    """The q-quantiles (0 ≤ q ≤ 1) of the counted values, None for an empty sketch."""
    qs = list(qs)
    total = sum(sketch.values())
    if total <= 0:
        return [None] * len(qs)
    ordered = sorted(sketch.items(), key=lambda item: _order(item[0]))
    answers = []
    for q in qs:
        rank = q * (total - 1)  # the 0-based rank of the wanted value
        seen = 0
        value = _representative(ordered[-1][0])
        for key, count in ordered:
            seen += count
            if seen > rank:
                value = _representative(key)
                break
        if lo is not None:
            value = max(value, lo)
        if hi is not None:
            value = min(value, hi)
        answers.append(value)
    return answers


def quantile(sketch: dict, q: float, lo: float | None = None, hi: float | None = None):
    return quantiles(sketch, [q], lo, hi)[0]
