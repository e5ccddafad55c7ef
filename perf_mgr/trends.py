"""Least-squares trend of a series of points, with the 95 % confidence interval of its
slope (Student's t with n - 2 degrees of freedom). A trend is called rising or falling
only when the whole interval is on one side of zero; otherwise it is flat: the data do
not show a direction."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import stdtrit

MIN_POINTS = 3


def trend(xs: list[float], ys: list[float], unit: str = "per hour") -> dict:
    n = len(xs)
    if n < MIN_POINTS:
        return {
            "slope": None,
            "ci95": None,
            "direction": "unknown",
            "points": n,
            "unit": unit,
            "reason": f"needs at least {MIN_POINTS} points with data",
        }
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    x_mean, y_mean = x.mean(), y.mean()
    sxx = float(((x - x_mean) ** 2).sum())
    if sxx == 0.0:
        return {"slope": None, "ci95": None, "direction": "unknown", "points": n, "unit": unit}
    slope = float(((x - x_mean) * (y - y_mean)).sum() / sxx)
    intercept = y_mean - slope * x_mean
    residuals = y - (intercept + slope * x)
    sse = float((residuals**2).sum())
    half = float(stdtrit(n - 2, 0.975)) * math.sqrt(sse / (n - 2) / sxx)
    low, high = slope - half, slope + half
    direction = "rising" if low > 0 else "falling" if high < 0 else "flat"
    relative = slope / abs(float(y_mean)) * 100 if y_mean else None
    return {
        "slope": slope,
        "ci95": [low, high],
        "direction": direction,
        "relative_percent": relative,
        "mean": float(y_mean),
        "points": n,
        "unit": unit,
    }
