"""Training data and prediction input: shapes accepted, and the checks that turn bad
input into `BadTrainingData` / `BadInput` with the reason (never a crash in a worker).

Accepted shapes (training and prediction alike):
- a list of dicts, one per row (`{"cpu": 0.4, "latency_ms": 12, "timestamp": "..."}`);
- `{"features": [...], "rows": [[...], ...]}`;
- a dict of columns (`{"cpu": [...], "latency_ms": [...]}`);
- prediction only: one dict (one row), or a list of lists in the version's order.
Timestamp columns (`timestamp`, `time`, `ts`) are never features; they give the
training window."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.utils.dateparse import parse_datetime

from ai_mgr.exceptions import BadInput, BadTrainingData

TIME_KEYS = ("timestamp", "time", "ts")
MAX_ROWS = 500_000


@dataclass
class Matrix:
    features: list[str]
    x: np.ndarray
    y: np.ndarray | None = None
    data_from: datetime | None = None
    data_to: datetime | None = None

    def fingerprint(self) -> str:
        digest = hashlib.sha256("\0".join(self.features).encode())
        digest.update(np.ascontiguousarray(self.x).tobytes())
        if self.y is not None:
            digest.update(np.ascontiguousarray(self.y).tobytes())
        return digest.hexdigest()


def _records(data, error) -> list[dict] | tuple[list[str], list]:
    if isinstance(data, dict) and "rows" in data:
        features = data.get("features")
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise error("`features` must be a list of column names next to `rows`")
        return features, data["rows"]
    if isinstance(data, dict):
        columns = {k: v for k, v in data.items() if isinstance(v, list)}
        if not columns or len(columns) != len(data):
            raise error("a dict of columns must map each name to a list of values")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise error("all columns must have the same length")
        n = lengths.pop()
        return [{k: v[i] for k, v in columns.items()} for i in range(n)]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    raise error("give a list of rows (dicts), {features, rows} or a dict of columns")


def _times(rows: list[dict]):
    stamps = []
    for row in rows:
        for key in TIME_KEYS:
            value = row.get(key)
            if isinstance(value, str):
                value = parse_datetime(value)
            if isinstance(value, datetime):
                stamps.append(value)
                break
    return (min(stamps), max(stamps)) if stamps else (None, None)


def _numeric(values, error, what: str) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise error(f"{what}: every value must be a number") from None
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=-1).sum()) if x.ndim > 1 else 1
        raise error(f"{what}: {bad} row(s) hold NaN or infinite values")
    return x


def training_matrix(data, *, target: str | None, min_rows: int, features=None) -> Matrix:
    parsed = _records(data, BadTrainingData)
    if isinstance(parsed, tuple):
        names, raw = parsed
        records = [dict(zip(names, r, strict=False)) for r in raw if isinstance(r, list)]
        if len(records) != len(raw):
            raise BadTrainingData("every row of `rows` must be a list")
    else:
        records = parsed
    if len(records) > MAX_ROWS:
        raise BadTrainingData(f"at most {MAX_ROWS} rows per training")
    if len(records) < min_rows:
        raise BadTrainingData(f"too few rows: {len(records)}, this kind needs at least {min_rows}")
    skip = set(TIME_KEYS) | ({target} if target else set())
    names = list(features) if features else sorted(k for k in records[0] if k not in skip)
    if not names:
        raise BadTrainingData("no feature columns")
    for i, row in enumerate(records):
        missing = [n for n in names if n not in row]
        if missing or (target and target not in row):
            raise BadTrainingData(f"row {i}: missing {', '.join(missing or [target])}")
    x = _numeric([[row[n] for n in names] for row in records], BadTrainingData, "training data")
    y = None
    if target:
        y = _numeric([row[target] for row in records], BadTrainingData, f"target {target!r}")
    start, end = _times(records)
    return Matrix(names, x, y, start, end)


def _one_row(data: dict, features: list[str]) -> np.ndarray | None:
    """The common request-path case, one dict of exactly the version's features with
    finite numbers, checked without building sets; None sends anything else through
    the general path below, which names the problem."""
    extra = len(data) - len(features)
    if extra and extra != sum(1 for k in TIME_KEYS if k in data):
        return None
    try:
        values = [data[name] for name in features]
    except (KeyError, TypeError):
        return None
    for value in values:
        kind = type(value)
        if (kind is not float and kind is not int) or not math.isfinite(value):
            return None
    return np.array([values], dtype=np.float64)


def input_rows(data, features: list[str]) -> tuple[np.ndarray, bool]:
    """(rows, single): the input as a matrix in the version's feature order."""
    if type(data) is dict:
        fast = _one_row(data, features)
        if fast is not None:
            return fast, True
    single = (
        isinstance(data, dict)
        and "rows" not in data
        and not any(isinstance(v, list) for v in data.values())
    )
    if single:
        data = [data]
    if isinstance(data, list) and data and all(isinstance(r, list) for r in data):
        if any(len(r) != len(features) for r in data):
            raise BadInput(f"each row needs {len(features)} values: {', '.join(features)}")
        return _numeric(data, BadInput, "input"), False
    parsed = _records(data, BadInput)
    if isinstance(parsed, tuple):
        names, raw = parsed
        if names != features:
            raise BadInput(f"features must be exactly {features}, got {names}")
        return _numeric(raw, BadInput, "input"), False
    if not parsed:
        raise BadInput("no rows to predict")
    rows = []
    for row in parsed:
        given = set(row) - set(TIME_KEYS)
        missing, extra = set(features) - given, given - set(features)
        if missing or extra:
            raise BadInput(
                f"wrong features: missing {sorted(missing)}, unexpected {sorted(extra)}; "
                f"this model takes {features}"
            )
        rows.append([row[n] for n in features])
    return _numeric(rows, BadInput, "input"), single


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
