"""Job kinds: what runs a job of each kind. Features register theirs when their app is
ready (this app never imports them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    runner: Callable  # runner(ctx: engine.JobContext) -> dict | None (the job's result)
    title: str = ""


_kinds: dict[str, JobKind] = {}


class UnknownJobKind(LookupError):
    pass


def register(name: str, runner: Callable, *, title: str = "") -> JobKind:
    kind = JobKind(name, runner, title or name)
    _kinds[name] = kind
    return kind


def get(name: str) -> JobKind:
    try:
        return _kinds[name]
    except KeyError:
        raise UnknownJobKind(f"no job kind {name!r} is registered") from None


def names() -> list[str]:
    return sorted(_kinds)
