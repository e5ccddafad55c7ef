"""A mergeable quantile sketch: counts in logarithmic buckets (the idea of DDSketch and
of Prometheus' native histograms).

A positive value v falls in bucket k = ceil(log_γ v), γ = 2^(1/16), i.e. (γ^(k-1), γ^k];
the bucket answers 2γ^k / (γ + 1), within ±2.2 % of any value in it. Negative values use
the buckets of |v|, zero has its own. Each bucket has an integer *code* ordered like the
values (`OFFSET + k` above zero, `-OFFSET - k` below, 0 for zero), so a sketch is its
codes and their counts, merged by adding counts: minutes into an hour, hours into a day,
with the same relative error for any window.

Stored form (`pack`): packed little-endian records of a 32-bit code and a 64-bit count,
codes ascending, in a `bytea`. A window's stored sketches concatenate into one numpy
record array without a loop over their entries (perf_mgr/frame.py): decoding JSON
lists cost more than everything else a day's analytics did (docs/performance.md).
Quantiles use the nearest rank rounded down and are clamped to the window's exact min
and max.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

SUBDIVISIONS = 16  # buckets per doubling
GAMMA = 2.0 ** (1.0 / SUBDIVISIONS)
_LOG_GAMMA = math.log(GAMMA)
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
_MIDPOINT = 2.0 / (GAMMA + 1.0)  # a bucket answers 2γ^k / (γ + 1)
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
    value = GAMMA**k * _MIDPOINT
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


RECORD = np.dtype([("code", "<i4"), ("count", "<i8")])  # 12 bytes, no padding
# Every code is within ±CODE_SPAN (|k| < 16,400 for doubles).
CODE_SPAN = OFFSET + 16_400


def pack(sketch: dict) -> bytes:
    """The stored form of {code: count}: RECORDs, codes ascending."""
    codes = sorted(sketch)
    records = np.empty(len(codes), dtype=RECORD)
    records["code"] = codes
    records["count"] = [sketch[c] for c in codes]
    return records.tobytes()


def records(stored) -> np.ndarray:
    return np.frombuffer(bytes(stored or b""), dtype=RECORD)


def unpack(stored) -> dict:
    found = records(stored)
    return dict(zip(found["code"].tolist(), found["count"].tolist(), strict=True))


def as_arrays(stored) -> tuple:
    """A stored sketch as numpy arrays (codes, counts)."""
    found = records(stored)
    if not len(found):
        return ()
    return found["code"].astype(np.int64), found["count"].astype(np.int64)


def from_json(stored) -> bytes:
    """The JSON form of earlier versions ([codes, counts]) packed (migration 0008)."""
    if not stored:
        return b""
    return pack(dict(zip(stored[0], stored[1], strict=True)))


def codes_of(values: np.ndarray) -> np.ndarray:
    """code() of many values at once."""
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    zero = magnitude < ZERO_BELOW
    with np.errstate(divide="ignore"):
        k = np.ceil(np.log(np.where(zero, 1.0, magnitude)) / _LOG_GAMMA).astype(np.int64)
    return np.where(zero, 0, np.where(values > 0, OFFSET + k, -OFFSET - k))


def representatives(codes: np.ndarray) -> np.ndarray:
    """representative() of many codes at once."""
    codes = np.asarray(codes, dtype=np.int64)
    k = np.where(codes > 0, codes - OFFSET, -codes - OFFSET).astype(np.float64)
    value = np.power(GAMMA, k) * _MIDPOINT  # not 2γ^k first: it overflows at the top
    return np.where(codes == 0, 0.0, np.where(codes > 0, value, -value))


def _quantiles_sorted(codes: np.ndarray, counts: np.ndarray, qs, lo, hi) -> list:
    total = int(counts.sum())
    if total <= 0:
        return [None] * len(qs)
    cumulative = np.cumsum(counts)
    # The first bucket whose cumulative count passes the rank q·(n-1), rounded down.
    ranks = np.floor(np.asarray(qs, dtype=np.float64) * (total - 1))
    index = np.minimum(np.searchsorted(cumulative, ranks, side="right"), len(codes) - 1)
    values = representatives(codes[index])
    if lo is not None:
        values = np.maximum(values, lo)
    if hi is not None:
        values = np.minimum(values, hi)
    return values.tolist()


def quantiles_of_parts(parts: list, qs, lo=None, hi=None) -> list:
    """Quantiles of the sum of sketches `parts` ((codes, counts) each, codes ascending)."""
    qs = list(qs)
    parts = [p for p in parts if len(p) and len(p[0])]
    if not parts:
        return [None] * len(qs)
    codes, counts = merge_parts(parts)
    return _quantiles_sorted(codes, counts, qs, lo, hi)


def merge_parts(parts: list) -> tuple:
    """One (codes, counts) sketch, codes ascending, of non-empty `parts`."""
    if len(parts) == 1:  # one sketch: its codes are sorted and distinct already
        return np.asarray(parts[0][0], dtype=np.int64), np.asarray(parts[0][1], dtype=np.int64)
    codes = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
    counts = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts])
    unique, inverse = np.unique(codes, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts).astype(np.int64)


def quantiles(sketch: dict, qs, lo=None, hi=None) -> list:
    codes = sorted(sketch)
    return quantiles_of_parts([(codes, [sketch[c] for c in codes])], qs, lo, hi)


def quantile(sketch: dict, q: float, lo=None, hi=None):
    return quantiles(sketch, [q], lo, hi)[0]
