"""Query parameters of the metrics API, checked, never guessed: a bad one is a 400
naming it."""

from __future__ import annotations

import datetime as dt
import re

from perf_mgr.validation import NAME_RE
from tenancy.api.errors import TenantAPIError

_DURATION = re.compile(r"([1-9][0-9]{0,6})([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def bad(code: str, message: str):
    return TenantAPIError(400, code, message)


def instant(raw: str | None, name: str) -> int | None:
    """ISO 8601 (with an offset) or seconds since the epoch -> microseconds."""
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    try:
        if re.fullmatch(r"[0-9]{1,11}(\.[0-9]{1,6})?", raw):
            return int(float(raw) * 1_000_000)
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise bad(
            f"invalid_{name}", f"{name} must be ISO 8601 or seconds since the epoch."
        ) from None
    if parsed.tzinfo is None:
        raise bad(f"invalid_{name}", f"{name} needs a UTC offset (or Z).")
    try:
        return int(parsed.timestamp() * 1_000_000)
    except (OverflowError, OSError, ValueError):
        raise bad(f"invalid_{name}", f"{name} is not a representable time.") from None


def duration(raw: str | None, name: str) -> int | None:
    """`300`, `90s`, `5m`, `1h`, `1d` -> seconds, rounded up to whole minutes."""
    if raw is None or raw == "":
        return None
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        raise bad(f"invalid_{name}", f"{name} must be a duration such as 60, 5m, 1h or 1d.")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    return seconds + (-seconds) % 60


def metric_name(raw: str | None) -> str:
    if not raw:
        raise bad("invalid_name", "name is required: the metric to read.")
    if NAME_RE.fullmatch(raw) is None:
        raise bad("invalid_name", "name is not a valid metric name.")
    return raw


def labels(values: list[str]) -> dict:
    """`label=view=v1:sessions` (repeatable): the first '=' splits name and value."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise bad("invalid_label", "label must be name=value (e.g. label=view=v1:sessions).")
        out[key] = value
    return out


def hours(raw: str | None, default: int = 24) -> int:
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5:
        raise bad("invalid_hours", "hours must be a whole number of hours (1 to 2160).")
    return int(raw)
