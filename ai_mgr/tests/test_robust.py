"""The robust (median/MAD by hour of week) detector: pure computation."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ai_mgr import robust

HOUR = 3600
MONDAY = 4 * 86400  # 1970-01-05, a Monday, 00:00 UTC


def _weekly(weeks=4, noise=1.0, seed=0):
    """Hourly points: 100 by night, 200 from 09:00 to 17:00, plus noise."""
    rng = np.random.default_rng(seed)
    t = MONDAY + HOUR * np.arange(weeks * 168)
    hour = (t // HOUR) % 24
    v = np.where((hour >= 9) & (hour < 17), 200.0, 100.0) + rng.normal(0, noise, t.size)
    return t, v


def test_hour_of_week_monday_midnight_is_zero():
    assert robust.hour_of_week([MONDAY, MONDAY + HOUR, MONDAY - HOUR]).tolist() == [0, 1, 167]


def test_evaluate_daytime_value_is_normal_at_daytime_but_anomalous_at_night():
    t, v = _weekly()
    end = float(t[-1]) + HOUR
    at_10 = MONDAY + 4 * 7 * 86400 + 10 * HOUR
    at_03 = MONDAY + 4 * 7 * 86400 + 3 * HOUR
    day = robust.evaluate(t, v, at_10, 200.0)
    night = robust.evaluate(t, v, at_03, 200.0)
    assert end <= at_10 + 7 * 86400
    assert day.seasonal and night.seasonal
    assert day.lower < 200.0 < day.upper and day.score < 0.9
    assert night.upper < 200.0 and night.score > 0.99
    assert night.as_dict()["expected"] == night.median


def test_evaluate_spike_scores_high_and_band_ignores_earlier_spikes():
    t, v = _weekly()
    v[::50] = 10_000.0  # wild points in the history do not move the median band
    at = MONDAY + 4 * 7 * 86400 + 3 * HOUR
    normal = robust.evaluate(t, v, at, 101.0)
    spike = robust.evaluate(t, v, at, 180.0)
    assert normal.score < 0.9 < spike.score
    assert normal.upper < 150


def test_evaluate_without_history_is_none_and_short_history_falls_back():
    assert robust.evaluate([], [], MONDAY, 1.0) is None
    t = MONDAY + HOUR * np.arange(5)
    point = robust.evaluate(t, np.full(5, 10.0), MONDAY + 10 * HOUR, 10.0)
    assert point is not None and not point.seasonal and point.score == 0.0


def test_evaluate_flat_series_has_a_floor_on_the_spread():
    t = MONDAY + HOUR * np.arange(24 * 7 * 2)
    point = robust.evaluate(t, np.full(t.size, 50.0), float(t[-1]) + HOUR, 50.2)
    assert point.sigma > 0 and np.isfinite(point.z) and point.score < 0.9


def test_evaluate_the_scored_hour_never_votes_for_itself():
    t = MONDAY + HOUR * np.arange(24 * 7 * 2)
    v = np.full(t.size, 50.0)
    at = float(t[-1]) + 60  # same hour as the last point: that point is excluded
    t2, v2 = np.append(t, at - 30), np.append(v, 900.0)
    assert robust.evaluate(t2, v2, at, 900.0).score > 0.99


def test_rolling_scores_every_point_with_history():
    t, v = _weekly(weeks=2)
    points = robust.rolling(t, v)
    assert len(points) == t.size - 1
    assert all(0 <= p.score <= 1 for p in points)


@given(st.floats(min_value=0, max_value=50, allow_nan=False))
def test_score_from_z_is_monotone_and_bounded(z):
    a, b = robust.score_from_z(z), robust.score_from_z(z + 0.5)
    assert 0 <= a <= b <= 1
    assert abs(robust.score_from_z(robust.DEFAULT_K) - 0.9) < 1e-12
