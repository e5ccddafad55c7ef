"""What a sample must be before it is buffered or stored, and the canonical form of its
labels (the series identity).

Every refusal is a `MetricRejected` with a machine-readable `code` and a sentence for
humans; nothing else is raised for bad input, so the batch API can report each bad
sample by index and the Python API raises one exception type (a `ValueError`).

Names follow Prometheus (`[a-zA-Z_:][a-zA-Z0-9_:]*`, at most 100 characters) so that
every stored metric can also be exported. Labels are a mapping of at most
`MAX_LABELS` names (Prometheus label names, not starting with `__`, and not `tenant`:
the tenant is the row's, never a label) to short printable strings; integers and
booleans are written as strings (`7`, `true`). The canonical form is the sorted tuple of
pairs, so `{"a": "1", "b": "2"}` and `{"b": "2", "a": 1}` are one series.
"""

from __future__ import annotations

import math
import re
import time
from numbers import Real

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,99}")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,39}")
MAX_LABELS = 8
MAX_LABEL_VALUE = 100
RESERVED_LABELS = frozenset({"tenant"})
# How far in the future a timestamp may be (clock skew between hosts).
FUTURE_SKEW_S = 60.0

Labels = tuple[tuple[str, str], ...]


class MetricRejected(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_name(name) -> str:
    if not isinstance(name, str):
        raise MetricRejected("invalid_name", "The metric name must be a string.")
    if NAME_RE.fullmatch(name) is None:
        raise MetricRejected(
            "invalid_name",
            f"Metric name {name[:120]!r} is not valid: 1-100 characters of letters, digits, "
            "'_' and ':', not starting with a digit.",
        )
    return name


def check_value(value) -> float:
    # bool is an int to Python, never a measurement; strings are refused, not parsed.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise MetricRejected(
            "not_numeric", f"The value must be a number, not {type(value).__name__}."
        )
    try:
        number = float(value)
    except (OverflowError, ValueError):
        raise MetricRejected("not_finite", "The value is too large for a float.") from None
    if math.isnan(number):
        raise MetricRejected("not_finite", "The value is NaN.")
    if math.isinf(number):
        raise MetricRejected("not_finite", "The value is infinite.")
    return number


def _label_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise MetricRejected(
            "invalid_label",
            f"Label {key!r}: a value must be a string, an integer or a boolean, "
            f"not {type(value).__name__}.",
        )
    if len(value) > MAX_LABEL_VALUE:
        raise MetricRejected(
            "invalid_label", f"Label {key!r}: a value has at most {MAX_LABEL_VALUE} characters."
        )
    if not value.isprintable():
        raise MetricRejected(
            "invalid_label", f"Label {key!r}: the value holds control or unprintable characters."
        )
    return value


def canonical_labels(labels) -> Labels:
    """The series identity of a label mapping: sorted (name, value) pairs."""
    if labels is None:
        return ()
    if not isinstance(labels, dict):
        raise MetricRejected("invalid_label", "Labels must be an object of name: value.")
    if len(labels) > MAX_LABELS:
        raise MetricRejected("invalid_label", f"At most {MAX_LABELS} labels per sample.")
    pairs = []
    for key, value in labels.items():
        if not isinstance(key, str) or LABEL_RE.fullmatch(key) is None:
            raise MetricRejected(
                "invalid_label",
                f"Label name {str(key)[:60]!r} is not valid: 1-40 letters, digits and '_', "
                "not starting with a digit.",
            )
        if key.startswith("__"):
            raise MetricRejected("invalid_label", f"Label name {key!r}: '__' is reserved.")
        if key in RESERVED_LABELS:
            raise MetricRejected(
                "invalid_label",
                f"Label name {key!r} is reserved: a sample belongs to the tenant it is "
                "recorded in.",
            )
        pairs.append((key, _label_value(key, value)))
    pairs.sort()
    return tuple(pairs)


def check_timestamp(ts, *, now: float | None = None, oldest: float | None = None) -> float:
    """Seconds since the epoch, not in the future beyond the skew and, with `oldest`,
    not older than what retention keeps."""
    if isinstance(ts, bool) or not isinstance(ts, Real):
        raise MetricRejected("invalid_timestamp", "The timestamp must be a number or a date.")
    ts = float(ts)
    if not math.isfinite(ts) or ts < 0:
        raise MetricRejected("invalid_timestamp", "The timestamp is not a valid time.")
    now = time.time() if now is None else now
    if ts > now + FUTURE_SKEW_S:
        raise MetricRejected(
            "invalid_timestamp", f"The timestamp is in the future (more than {FUTURE_SKEW_S:g} s)."
        )
    if oldest is not None and ts < oldest:
        raise MetricRejected(
            "too_old", "The timestamp is older than this tenant keeps raw samples."
        )
    return ts
