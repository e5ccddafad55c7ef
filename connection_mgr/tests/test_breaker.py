"""The breaker's state machine, with a connect function the test controls (no database):
closed → open after the threshold, refused without trying while open, one probe when
the interval has passed (half-open), closed again when it succeeds, open when it fails."""

from __future__ import annotations

import time

import pytest

from connection_mgr import breaker


class Flaky:
    def __init__(self):
        self.up = True
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if not self.up:
            raise OSError("connection refused")
        return object()


@pytest.fixture
def fast(settings):
    settings.CONNECTION_BREAKER_FAILURES = 2
    settings.CONNECTION_BREAKER_OPEN_SECONDS = 0.05
    breaker.reset()
    saved = list(breaker._listeners)
    yield
    breaker._listeners[:] = saved
    breaker.reset()


def _try(connect):
    try:
        breaker.guarded_connect("db1", connect)
    except breaker.DatabaseUnavailable:
        return "refused"
    except OSError:
        return "failed"
    return "ok"


def test_opens_after_threshold_and_refuses_without_trying(fast):
    db = Flaky()
    db.up = False
    assert [_try(db), _try(db)] == ["failed", "failed"]
    assert breaker.breaker("db1").state == breaker.OPEN
    assert _try(db) == "refused"
    assert db.calls == 2  # the open breaker did not try
    assert breaker.breaker("other").state == breaker.CLOSED  # per alias


def test_half_open_probe_closes_or_reopens(fast):
    db = Flaky()
    db.up = False
    _try(db), _try(db)
    time.sleep(0.06)
    assert _try(db) == "failed"  # the probe failed: open again
    assert breaker.breaker("db1").state == breaker.OPEN
    db.up = True
    time.sleep(0.06)
    seen = []
    breaker.on_change(lambda alias, state: seen.append((alias, state)))
    assert _try(db) == "ok"
    assert breaker.breaker("db1").state == breaker.CLOSED
    assert ("db1", breaker.HALF_OPEN) in seen and seen[-1] == ("db1", breaker.CLOSED)


def test_only_one_probe_while_half_open(fast):
    b = breaker.breaker("db1")
    for _ in range(2):
        b.failed(OSError("down"))
    time.sleep(0.06)
    b.before()  # the probe
    with pytest.raises(breaker.DatabaseUnavailable, match="db1"):
        b.before()
    assert b.state == breaker.HALF_OPEN


def test_success_resets_the_failure_count(fast):
    db = Flaky()
    db.up = False
    _try(db)
    db.up = True
    _try(db)
    db.up = False
    _try(db)
    assert breaker.breaker("db1").state == breaker.CLOSED
