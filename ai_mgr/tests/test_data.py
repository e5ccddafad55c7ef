"""Prediction input: the one-dict fast path reads exactly what the general path reads,
and anything it does not recognise still gets the general path's reason."""

import numpy as np
import pytest

from ai_mgr.data import input_rows
from ai_mgr.exceptions import BadInput

FEATURES = ["cpu", "latency_ms", "rps"]


@pytest.mark.parametrize(
    "row",
    [
        {"cpu": 0.4, "latency_ms": 20, "rps": 100},
        {"rps": 100, "cpu": 0.4, "latency_ms": 20, "timestamp": "2026-12-01T00:00:00Z"},
        {"cpu": True, "latency_ms": 20, "rps": 100},  # not a float: the general path
        {"cpu": np.float64(0.4), "latency_ms": 20, "rps": 100},
    ],
)
def test_data_one_row_is_in_feature_order(row):
    rows, single = input_rows(row, FEATURES)
    assert single and rows.dtype == np.float64
    assert rows.tolist() == [[float(row["cpu"]), 20.0, 100.0]]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"cpu": 0.4, "latency_ms": 20, "time": "x", "disk": 1}, "missing"),
        ({"cpu": 0.4, "latency_ms": 20, "rps": float("inf")}, "NaN or infinite"),
        ({"cpu": 0.4, "latency_ms": None, "rps": 1}, "NaN"),  # null reads as NaN
        ({"cpu": 0.4, "latency_ms": 20, "rps": 1, "disk": 3}, "unexpected"),
        ({"cpu": "x", "latency_ms": 20, "rps": 1}, "number"),
    ],
)
def test_data_one_row_bad_input_names_the_problem(row, reason):
    with pytest.raises(BadInput, match=reason):
        input_rows(row, FEATURES)
