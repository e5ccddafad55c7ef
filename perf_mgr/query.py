"""The metric query API: windowed aggregates of a tenant's series, exact at any moment.

This is the module the alert rules, the dashboards and the analytics read (nothing
else reads samples or roll-ups directly). Everything runs for the tenant in context.

    from perf_mgr import query

    query.evaluate("http_request_duration_seconds", "p95", window_s=300,
                   labels={"view": "v1:sessions"})          # -> {labels: value}
    query.window("session_creation_time", since, until)      # -> {series: Agg}
    query.series_over_time("cache_hits", since, until, step_s=60)

`Agg` holds count, sum, min, max and a mergeable sketch; it answers `avg`, `quantile(q)`,
`rate(seconds)` (samples per second) and `sum_rate(seconds)` (value per second).
`evaluate()`'s functions: avg, min, max, sum, count, rate, sum_rate, p50, p90, p95, p99,
quantile:<q>, absent (1.0 when no sample is in the window, else 0.0) and last_avg
(the average of the window's last minute). Label matching is by subset: the series
whose labels include every given pair.

How a window is read (perf_mgr/rollup.py): whole hours from the hourly roll-ups, other
whole minutes from the minute roll-ups, plus the raw samples that the roll-ups have
not reached yet (ids above the tenant's cursor), in one statement, so a roll-up that
commits meanwhile cannot make a sample count twice or not at all. Windows start and
end on whole minutes (a window reaching the present ends now); a `step` is a whole
number of minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db import connection

from perf_mgr import sketch
from perf_mgr.models import (
    HOUR_US,
    MINUTE_US,
    MetricRollup,
    MetricSample,
    MetricSeries,
    RollupCursor,
)
from perf_mgr.models import now_us as _now_us
from perf_mgr.validation import FUTURE_SKEW_S, canonical_labels
from tenancy import db as tenant_db
from tenancy.context import require_tenant_id

FUNCTIONS = (
    "avg",
    "min",
    "max",
    "sum",
    "count",
    "rate",
    "sum_rate",
    "p50",
    "p90",
    "p95",
    "p99",
    "absent",
    "last_avg",
)
MAX_POINTS = 11_000  # per series, like Prometheus


class QueryError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Agg:
    """count, sum, min, max and the sketch parts of a set of samples. Merging only
    collects parts; they are added up (in numpy) when a quantile is asked for."""

    count: int = 0
    sum: float = 0.0
    min: float | None = None
    max: float | None = None
    parts: list = field(default_factory=list)  # sketches, (codes, counts) each
    # Quantiles computed beforehand from the same rows ({q: value}, perf_mgr/frame.py);
    # forgotten by any merge.
    known: dict = field(default_factory=dict, compare=False, repr=False)

    def add(self, count, total, low, high, part) -> None:
        self.known = {}
        self.count += count
        self.sum += total
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)
        self.parts.append(part)

    def merge(self, other: Agg) -> Agg:
        if other.count:
            self.known = {}
            self.count += other.count
            self.sum += other.sum
            self.min = other.min if self.min is None else min(self.min, other.min)
            self.max = other.max if self.max is None else max(self.max, other.max)
            self.parts.extend(other.parts)
        return self

    @property
    def avg(self) -> float | None:
        return self.sum / self.count if self.count else None

    def quantiles(self, qs) -> list:
        if self.known and all(q in self.known for q in qs):
            return [self.known[q] for q in qs]
        parts = [p for p in self.parts if len(p) and len(p[0])]
        if len(parts) > 1:  # added up once, however often it is asked
            self.parts = parts = [sketch.merge_parts(parts)]
        return sketch.quantiles_of_parts(parts, qs, self.min, self.max)

    def quantile(self, q: float) -> float | None:
        return self.quantiles([q])[0]

    def rate(self, seconds: float) -> float:
        return self.count / seconds if seconds > 0 else 0.0

    def sum_rate(self, seconds: float) -> float:
        return self.sum / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class Series:
    id: int
    name: str
    labels: dict = field(compare=False)  # the id is the identity (and the hash)


@dataclass(frozen=True)
class Window:
    since_us: int
    until_us: int
    step_us: int | None  # None: one bucket, the whole window
    end_us: int = 0  # where time ends in it: until, or now for a window reaching the present

    @property
    def seconds(self) -> float:
        """The time the window really covers (rates divide by it)."""
        return (min(self.end_us or self.until_us, self.until_us) - self.since_us) / 1e6

    def buckets(self) -> int:
        if self.step_us is None:
            return 1
        return max(1, math.ceil((self.until_us - self.since_us) / self.step_us))

    def bucket_start(self, index: int) -> int:
        return self.since_us + index * (self.step_us or 0)


def make_window(since_us: int, until_us: int, step_s: int | None = None, now_us=None) -> Window:
    """Whole minutes: `since` rounded down; `until` rounded down, or, when it falls in
    the current minute, up past now (nothing is newer)."""
    now_us = _now_us() if now_us is None else now_us
    if step_s is not None and (step_s < 60 or step_s % 60):
        raise QueryError("invalid_step", "step must be a whole number of minutes (60, 120, ...).")
    since = since_us - since_us % MINUTE_US
    if until_us >= now_us - now_us % MINUTE_US:  # in the current minute: up to now
        end = now_us + int(FUTURE_SKEW_S * 1e6)
        until, covered = end - end % MINUTE_US + MINUTE_US, now_us
    else:
        until = covered = until_us - until_us % MINUTE_US
    if until <= since:
        raise QueryError("invalid_window", "until must be at least a minute after since.")
    window = Window(since, until, step_s * 1_000_000 if step_s else None, covered)
    if window.buckets() > MAX_POINTS:
        raise QueryError(
            "too_many_points",
            f"since, until and step give more than {MAX_POINTS} points per series: "
            "use a larger step or a shorter window.",
        )
    return window


def find_series(name: str | None = None, labels: dict | None = None, names=None) -> list[Series]:
    """The tenant's series of `name` (or of `names`, or all) whose labels include `labels`."""
    require_tenant_id("querying metrics")
    queryset = MetricSeries.objects.all()
    if name is not None:
        queryset = queryset.filter(name=name)
    elif names is not None:
        queryset = queryset.filter(name__in=list(names))
    wanted = dict(canonical_labels(labels)) if labels else {}
    found = []
    for series_id, series_name, series_labels in queryset.values_list("id", "name", "labels"):
        if all(series_labels.get(k) == v for k, v in wanted.items()):
            found.append(Series(series_id, series_name, series_labels))
    return found


def _hour_span(window: Window) -> tuple[int, int]:
    """The whole hours read from the hourly roll-ups: [h0, h1), possibly empty."""
    s, u = window.since_us, window.until_us
    if window.step_us is not None and (window.step_us % HOUR_US or s % HOUR_US):
        return s, s
    h0 = s + (-s) % HOUR_US
    if window.end_us and window.end_us < u:
        # The window reaches the present: the hour holding now has nothing newer, so its
        # roll-up lies inside the window's last bucket whole.
        h1 = u + (-u) % HOUR_US
    else:
        h1 = u - u % HOUR_US
    return (h0, h1) if h1 > h0 else (s, s)


def _marks(values) -> tuple[str, list]:
    values = list(values)
    return ", ".join(["%s"] * len(values)), values


def _statement(
    tenant_id: int,
    series_ids: list[int],
    window: Window,
    rollups_only: bool = False,
    above: int | None = None,
    tail_only: bool = False,
):
    """One UNION ALL: hourly roll-ups of the whole hours, minute roll-ups of the other
    minutes (each non-empty range its own branch, so every branch is an index range
    scan), and the raw samples above the tenant's cursor (`above`: above that sample
    id instead; `rollups_only`: no raw samples; `tail_only`: only them)."""
    rollups = connection.ops.quote_name(MetricRollup._meta.db_table)
    samples = connection.ops.quote_name(MetricSample._meta.db_table)
    cursors = connection.ops.quote_name(RollupCursor._meta.db_table)
    h0, h1 = _hour_span(window)
    s, u = window.since_us, window.until_us
    marks, ids = _marks(series_ids)
    columns = "series_id, start_us, count, sum, min, max, sketch"
    branches, params = [], []
    ranges = [(3600, h0, h1), (60, s, min(h0, u)), (60, max(h1, s), u)]
    for resolution, low, high in ranges:
        if high > low and not tail_only:
            branches.append(
                f"SELECT {columns} FROM {rollups} WHERE tenant_id = %s AND resolution = "
                f"{resolution} AND start_us >= %s AND start_us < %s AND series_id IN ({marks})"
            )
            params += [tenant_id, low, high, *ids]
    if rollups_only:
        return " UNION ALL ".join(branches), params
    if above is not None:
        branches.append(
            f"SELECT series_id, at_us, 1, value, value, value, NULL FROM {samples} "
            f"WHERE tenant_id = %s AND series_id IN ({marks}) AND at_us >= %s AND at_us < %s "
            "AND id > %s"
        )
        params += [tenant_id, *ids, s, u, above]
        return " UNION ALL ".join(branches), params
    branches.append(
        f"SELECT series_id, at_us, 1, value, value, value, NULL FROM {samples} "
        f"WHERE tenant_id = %s AND series_id IN ({marks}) AND at_us >= %s AND at_us < %s "
        f"AND id > (SELECT coalesce(max(last_sample_id), 0) FROM {cursors} WHERE tenant_id = %s)"
    )
    params += [tenant_id, *ids, s, u, tenant_id]
    return " UNION ALL ".join(branches), params


def fetch_rows(series: list[Series], window: Window) -> list[tuple]:
    """The window's rows: (series id, start us, count, sum, min, max, packed sketch),
    the sketch None for a raw sample (its value is the sum, min and max)."""
    tenant_id = require_tenant_id("querying metrics")
    if not series:
        return []
    sql, params = _statement(tenant_id, [s.id for s in series], window)
    return run_rows(tenant_id, sql, params)


def run_rows(tenant_id: int, sql: str, params: list) -> list[tuple]:
    """Execute a statement of `_statement`'s shape for the tenant: binary results on
    PostgreSQL."""
    connection = tenant_db.connection_for(tenant_id)  # a dedicated tenant's own database
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Binary results: the sketches arrive as their bytes, not as hex text twice
            # their size to encode and decode. Our psycopg cursor class still sends the
            # tenant's claim first (tenancy/db/postgresql/base.py).
            with connection.wrap_database_errors:
                cursor.cursor.execute(sql, params, binary=True)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


def collect(series: list[Series], window: Window) -> dict[tuple[int, int], Agg]:
    """{(series id, bucket index): Agg} over the window (missing buckets: no data)."""
    out: dict[tuple[int, int], Agg] = {}
    step, since = window.step_us, window.since_us
    for series_id, start, count, total, low, high, part in fetch_rows(series, window):
        index = (start - since) // step if step else 0
        key = (series_id, index)
        agg = out.get(key)
        if agg is None:
            agg = out[key] = Agg()
        if part is None:  # a raw sample
            part = ([sketch.code(total)], [1])
        else:
            part = sketch.as_arrays(part)
        agg.add(count, total, low, high, part)
    return out


def window(name: str, since_us: int, until_us: int, labels: dict | None = None, now_us=None):
    """{Series: Agg} of the series of `name` matching `labels`, over [since, until)."""
    found = find_series(name, labels)
    win = make_window(since_us, until_us, now_us=now_us)
    data = collect(found, win)
    return {s: data.get((s.id, 0), Agg()) for s in found}, win


def series_over_time(name, since_us, until_us, step_s, labels=None, now_us=None):
    """[(Series, [(bucket start us, Agg), ...]), ...]: buckets with data only."""
    found = find_series(name, labels)
    win = make_window(since_us, until_us, step_s, now_us=now_us)
    data = collect(found, win)
    out = []
    for s in found:
        points = [
            (win.bucket_start(i), data[(s.id, i)])
            for i in range(win.buckets())
            if (s.id, i) in data
        ]
        out.append((s, points))
    return out, win


def _apply(function: str, agg: Agg, seconds: float, last: Agg | None):
    if function == "absent":
        return 0.0 if agg.count else 1.0
    if function == "count":
        return float(agg.count)
    if function == "rate":
        return agg.rate(seconds)
    if function == "sum_rate":
        return agg.sum_rate(seconds)
    if not agg.count:
        return None
    if function == "avg":
        return agg.avg
    if function in ("min", "max", "sum"):
        return getattr(agg, function)
    if function == "last_avg":
        return last.avg if last is not None and last.count else None
    if function.startswith("quantile:"):
        return agg.quantile(float(function.split(":", 1)[1]))
    return agg.quantile(int(function[1:]) / 100)


def check_function(function: str) -> str:
    if function in FUNCTIONS:
        return function
    if function.startswith("quantile:"):
        try:
            q = float(function.split(":", 1)[1])
        except ValueError:
            q = -1.0
        if 0.0 <= q <= 1.0:
            return function
    raise QueryError(
        "invalid_function",
        f"Unknown function {function!r}: one of {', '.join(FUNCTIONS)} or quantile:<0..1>.",
    )


def evaluate(name: str, function: str, window_s: float, labels=None, by=None, now_us=None):
    """`function` of `name` over the last `window_s` seconds, per label group: `by` is a
    list of label names to group by (None: one group, all matching series merged).
    Returns {tuple of (label, value) pairs: value or None}; with no matching series,
    `{(): None}` (`{(): 1.0}` for absent)."""
    check_function(function)
    now_us = _now_us() if now_us is None else now_us
    since = now_us - int(window_s * 1e6)
    found = find_series(name, labels)
    win = make_window(since, now_us, now_us=now_us)
    data = collect(found, win)
    last = (
        collect(found, make_window(now_us - MINUTE_US, now_us, now_us=now_us))
        if (function == "last_avg")
        else {}
    )
    groups: dict[tuple, list[Agg]] = {}
    lasts: dict[tuple, Agg] = {}
    for s in found:
        key = tuple((k, s.labels.get(k, "")) for k in by) if by else ()
        groups.setdefault(key, []).append(data.get((s.id, 0), Agg()))
        lasts.setdefault(key, Agg()).merge(last.get((s.id, 0), Agg()))
    if not groups:
        groups[()] = [Agg()]
    result = {}
    for key, aggs in groups.items():
        merged = Agg()
        for agg in aggs:
            merged.merge(agg)
        result[key] = _apply(function, merged, win.seconds, lasts.get(key))
    return result
