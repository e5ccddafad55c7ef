"""Robust anomaly detection on one metric (issue 15, item 4): a rolling median and MAD,
seasonal by hour of week (Datadog's "robust" monitor, in the open).

Why median/MAD: a mean and standard deviation are dragged by the very spikes we look
for; the median and the median absolute deviation ignore up to half the points being
wild. Why hour of week: Monday 09:00 is not Sunday 03:00; each of the 168 hours of the
week is compared with the same hour of the previous weeks only. An hour with too little
history falls back to the whole trailing window (non-seasonal), so a new tenant still
gets a band on day one.

Pure numpy: times are seconds since the epoch (UTC), values floats. No Django."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WEEK_S = 7 * 86400
HOUR_S = 3600
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its sigma
DEFAULT_K = 3.0  # band half-width in robust sigmas
DEFAULT_WEEKS = 4
MIN_SEASONAL_POINTS = 3
# A floor on the spread: a flat series (MAD 0) would otherwise call any change infinite.
REL_FLOOR = 0.01
ABS_FLOOR = 1e-9


def hour_of_week(times) -> np.ndarray:
    """0 = Monday 00:00-01:00 UTC ... 167 = Sunday 23:00 (1970-01-01 was a Thursday)."""
    t = np.asarray(times, dtype=float)
    return ((np.floor(t / HOUR_S).astype(np.int64) + 72) % 168).astype(np.int64)


def spread(values: np.ndarray, median: float) -> float:
    """The robust sigma of `values` around `median`, floored (see REL_FLOOR)."""
    mad = float(np.median(np.abs(values - median))) if values.size else 0.0
    return max(MAD_TO_SIGMA * mad, REL_FLOOR * abs(median), ABS_FLOOR)


def score_from_z(z: float, k: float = DEFAULT_K) -> float:
    """Map a robust z to [0, 1): 0 at the median, 0.9 at the band's edge (z = k), 0.9999
    at 2k. The seed's rule `anomaly_score > 0.9` then means "outside the band"."""
    if not math.isfinite(z):
        return 1.0 if z > 0 else 0.0
    return 1.0 - 0.1 ** ((abs(z) / k) ** 2)


@dataclass(frozen=True)
class Point:
    """The verdict on one observation: the expected band and how far outside it is."""

    at: float
    observed: float
    median: float
    sigma: float
    lower: float
    upper: float
    z: float
    score: float
    seasonal: bool  # False: the hour had too little history (whole-window fallback)

    def as_dict(self) -> dict:
        return {
            "at": self.at,
            "observed": self.observed,
            "expected": self.median,
            "lower": self.lower,
            "upper": self.upper,
            "z": round(self.z, 4),
            "score": round(self.score, 6),
            "seasonal": self.seasonal,
        }


def evaluate(
    history_times,
    history_values,
    at: float,
    observed: float,
    *,
    weeks: int = DEFAULT_WEEKS,
    k: float = DEFAULT_K,
    min_points: int = MIN_SEASONAL_POINTS,
    sigma_scale: float = 1.0,
) -> Point | None:
    """Score `observed` at time `at` against the history strictly before the start of its
    hour (so the hour being scored never votes for itself). None with no history.

    `sigma_scale` widens the band when `observed` averages a shorter span than the history's
    points (an average over a quarter of the time varies about twice as much: sqrt(4))."""
    t = np.asarray(history_times, dtype=float)
    v = np.asarray(history_values, dtype=float)
    hour_start = math.floor(at / HOUR_S) * HOUR_S
    keep = (t < hour_start) & (t >= at - weeks * WEEK_S) & np.isfinite(v)
    t, v = t[keep], v[keep]
    if v.size == 0:
        return None
    same_hour = hour_of_week(t) == hour_of_week([at])[0]
    seasonal = int(same_hour.sum()) >= min_points
    base = v[same_hour] if seasonal else v
    median = float(np.median(base))
    sigma = spread(base, median) * sigma_scale
    z = (observed - median) / sigma
    return Point(
        at=float(at),
        observed=float(observed),
        median=median,
        sigma=sigma,
        lower=median - k * sigma,
        upper=median + k * sigma,
        z=float(z),
        score=score_from_z(z, k),
        seasonal=seasonal,
    )


def rolling(times, values, **kw) -> list[Point]:
    """Every point scored against its own trailing history (the dashboard's band).
    Points without history are left out."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    out = []
    for i in range(t.size):
        # Only earlier points can be history; evaluate() trims to the hour's start.
        point = evaluate(t[:i], v[:i], float(t[i]), float(v[i]), **kw)
        if point is not None:
            out.append(point)
    return out
