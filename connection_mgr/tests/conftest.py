"""Helpers for tests that register database aliases at run time."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def alias_allowed(alias: str):
    """Let the running Django test case use `alias`, registered after it started.

    Django's TestCase refuses connections to aliases missing from its `databases`
    (those it did not wrap in a rolled-back transaction). A dedicated tenant's alias is
    registered by the test itself, which also cleans up what it wrote there; the
    refusal is lifted for that alias only, and restored on exit."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    patched = BaseDatabaseWrapper.ensure_connection
    names = getattr(patched, "__code__", None)
    cells = dict(
        zip(
            names.co_freevars if names else (), (c.cell_contents for c in patched.__closure__ or ())
        )
    )
    case = cells.get("cls")
    if case is None:
        yield
        return
    saved = case.databases
    case.databases = frozenset(saved) | {alias}
    try:
        yield
    finally:
        case.databases = saved
