"""A window's roll-ups and raw samples as numpy arrays, aggregated by any grouping of
its rows in one pass: what the analytics read (perf_mgr/analytics.py).

`query.collect` answers {(series, bucket): Agg}; merging those Aggs name by name and
bucket by bucket in Python, and adding up their sketches' entries, cost a day's
analytics most of their time (docs/performance.md, "Analytics"). Here every row is an
index: `Frame.group(keys, n)` sums the counts and sums of the rows with `bincount`,
takes their min and max with `minimum.at`/`maximum.at`, and adds their sketch entries
into one dense histogram per group (groups × the distinct codes of the window), whose
cumulative sums answer every quantile of every group at once.

The answers are those of `query.Agg` over the same rows: the same counts, sums, min and
max, and the same sketch quantiles (nearest rank rounded down, clamped to min and max).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perf_mgr import sketch
from perf_mgr.query import Agg


@dataclass
class Groups:
    count: np.ndarray  # int64, per group
    sum: np.ndarray
    min: np.ndarray  # +inf where a group has no row
    max: np.ndarray
    hist: np.ndarray  # (groups, distinct codes) counts
    codes: np.ndarray  # the distinct codes, ascending

    def quantiles(self, qs) -> np.ndarray:
        """(groups, len(qs)) quantiles; NaN for an empty group."""
        cumulative = np.cumsum(self.hist, axis=1)
        total = cumulative[:, -1] if cumulative.shape[1] else np.zeros(len(self.count))
        out = np.full((len(self.count), len(qs)), np.nan)
        if not cumulative.shape[1]:
            return out
        has = total > 0
        for j, q in enumerate(qs):
            rank = np.floor(q * (total - 1))
            index = np.argmax(cumulative > rank[:, None], axis=1)
            value = sketch.representatives(self.codes[index])
            value = np.minimum(np.maximum(value, self.min), self.max)
            out[:, j] = np.where(has, value, np.nan)
        return out

    def agg(self, index: int):
        """Group `index` as a `query.Agg` (one sketch part)."""
        count = int(self.count[index])
        if not count:
            return Agg()
        row = self.hist[index]
        present = row > 0
        part = (self.codes[present], row[present].astype(np.int64))
        return Agg(
            count, float(self.sum[index]), float(self.min[index]), float(self.max[index]), [part]
        )


class Frame:
    """The rows `query.fetch_rows` returns: (series id, start us, count, sum, min, max,
    packed sketch or None for a raw sample)."""

    def __init__(self, rows: list, since_us: int, step_us: int | None):
        n = len(rows)
        self.size = n
        if n:
            series, start, count, total, low, high, parts = zip(*rows, strict=True)
        else:
            series = start = count = total = low = high = parts = ()
        self.series = np.fromiter(series, dtype=np.int64, count=n)
        starts = np.fromiter(start, dtype=np.int64, count=n)
        self.bucket = (starts - since_us) // step_us if step_us else np.zeros(n, dtype=np.int64)
        self.count = np.fromiter(count, dtype=np.int64, count=n)
        self.sum = np.fromiter(total, dtype=np.float64, count=n)
        self.min = np.fromiter(low, dtype=np.float64, count=n)
        self.max = np.fromiter(high, dtype=np.float64, count=n)
        self._entries(parts)

    def _entries(self, parts) -> None:
        """Every sketch entry: its row, its code's index in `codes`, its count."""
        stored = [(i, bytes(p)) for i, p in enumerate(parts) if p is not None]
        raw = np.fromiter((i for i, p in enumerate(parts) if p is None), dtype=np.int64)
        records = np.frombuffer(b"".join(p for _, p in stored), dtype=sketch.RECORD)
        lengths = np.fromiter(
            (len(p) // sketch.RECORD.itemsize for _, p in stored), dtype=np.int64, count=len(stored)
        )
        rows_of = np.fromiter((i for i, _ in stored), dtype=np.int64, count=len(stored))
        self.entry_row = np.concatenate([np.repeat(rows_of, lengths), raw])
        codes = np.concatenate([records["code"].astype(np.int64), sketch.codes_of(self.sum[raw])])
        self.entry_count = np.concatenate(
            [records["count"].astype(np.int64), np.ones(len(raw), dtype=np.int64)]
        )
        # Dense code indexes without sorting: a table over every possible code.
        present = np.zeros(2 * sketch.CODE_SPAN + 1, dtype=bool)
        present[codes + sketch.CODE_SPAN] = True
        self.codes = np.flatnonzero(present) - sketch.CODE_SPAN
        dense = np.cumsum(present) - 1
        self.entry_code = dense[codes + sketch.CODE_SPAN]

    def group(self, keys: np.ndarray, n: int, sketches: bool = True) -> Groups:
        """Aggregates of the rows by `keys` (a group index per row, -1: in no group)."""
        keep = keys >= 0
        k = keys[keep]
        count = np.bincount(k, weights=self.count[keep], minlength=n).astype(np.int64)
        total = np.bincount(k, weights=self.sum[keep], minlength=n)
        low = np.full(n, np.inf)
        high = np.full(n, -np.inf)
        np.minimum.at(low, k, self.min[keep])
        np.maximum.at(high, k, self.max[keep])
        width = len(self.codes)
        if sketches and width:
            of_entry = keys[self.entry_row]
            use = of_entry >= 0
            flat = np.bincount(
                of_entry[use] * width + self.entry_code[use],
                weights=self.entry_count[use],
                minlength=n * width,
            )
            hist = flat.reshape(n, width)
        else:
            hist = np.zeros((n, 0))
        return Groups(count, total, low, high, hist, self.codes)

    @classmethod
    def concat(cls, first: Frame, second: Frame) -> Frame:
        """The rows of `first` then those of `second`, without decoding a sketch again:
        what the window cache (perf_mgr/window_cache.py) adds its raw tail with."""
        if not second.size:
            return first
        out = cls.__new__(cls)
        out.size = first.size + second.size
        for name in ("series", "bucket", "count", "sum", "min", "max", "entry_count"):
            setattr(out, name, np.concatenate([getattr(first, name), getattr(second, name)]))
        out.entry_row = np.concatenate([first.entry_row, second.entry_row + first.size])
        out.codes = np.union1d(first.codes, second.codes)
        out.entry_code = np.concatenate(
            [
                np.searchsorted(out.codes, first.codes)[first.entry_code],
                np.searchsorted(out.codes, second.codes)[second.entry_code],
            ]
        )
        return out

    def freeze(self) -> Frame:
        """Read-only arrays: a cached frame is shared by every reader of its window."""
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return self
