"""Optimisation advice: strategies and the four knobs (pure computation)."""

import pytest

from ai_mgr import advice
from ai_mgr.advice import PRESETS, Signals


def _busy(**kw):
    base = {
        "request_rate_peak": 50.0,
        "request_seconds_avg": 0.4,
        "task_rate_peak": 4.0,
        "task_seconds_avg": 2.0,
        "queue_wait_p95_s": 12.0,
        "findings": [
            {"kind": "saturated_queue", "subject": "t"},
            {"kind": "cache_misses", "subject": "v1:things"},
        ],
        "cache_hit_ratio": 0.2,
        "cache_reads": 500,
        "knobs": {
            "celery_concurrency": 4,
            "db_pool_size": 10,
            "cache_ttl_seconds": 300,
            "rate_limit_per_minute": 1000,
        },
    }
    return Signals(**{**base, **kw})


def _by_kind(items):
    return {a.kind: a for a in items}


def test_advise_busy_tenant_gets_all_four_knobs_with_reasoning():
    out = _by_kind(advice.advise(_busy(), PRESETS["balanced"]))
    assert set(out) == {"celery_concurrency", "db_pool_size", "cache_ttl", "rate_limit"}
    for a in out.values():
        assert a.reasoning and a.expected_effect and a.proposed != a.current
    assert out["celery_concurrency"].proposed == 6  # 8 busy / 0.7 = 12, bounded at 4 x 1.5
    assert out["cache_ttl"].proposed == 600
    assert out["rate_limit"].proposed == 1500  # 3000/0.7 wanted, bounded at 1000 x 1.5


def test_advise_platform_knobs_are_advice_only_and_tenant_knobs_applicable():
    out = _by_kind(advice.advise(_busy(), PRESETS["aggressive"]))
    assert not out["celery_concurrency"].auto_applicable
    assert "CELERY_WORKER_CONCURRENCY" in out["celery_concurrency"].advice_only_reason
    assert not out["db_pool_size"].auto_applicable
    assert out["cache_ttl"].auto_applicable and out["rate_limit"].auto_applicable


def test_advise_conservative_takes_smaller_steps_than_aggressive():
    cons = _by_kind(advice.advise(_busy(), PRESETS["conservative"]))
    aggr = _by_kind(advice.advise(_busy(), PRESETS["aggressive"]))
    for kind in ("celery_concurrency", "db_pool_size", "cache_ttl", "rate_limit"):
        assert cons[kind].proposed <= aggr[kind].proposed


def test_advise_quiet_tenant_gets_nothing():
    quiet = _busy(
        request_rate_peak=1.0,
        task_rate_peak=0.1,
        queue_wait_p95_s=0.0,
        findings=[],
    )
    assert advice.advise(quiet, PRESETS["balanced"]) == []


def test_advise_without_a_limit_proposes_one_at_least_the_floor():
    out = _by_kind(advice.advise(_busy(request_rate_peak=0.1, knobs={}), PRESETS["balanced"]))
    assert set(out) == {"rate_limit"}
    assert out["rate_limit"].current is None and out["rate_limit"].proposed == 60


@pytest.mark.parametrize(
    ("trusted", "anomalies", "expected"),
    [(True, False, "balanced"), (False, False, "conservative"), (True, True, "conservative")],
)
def test_resolve_adaptive_depends_on_forecast_and_anomalies(trusted, anomalies, expected):
    strategy, why = advice.resolve("ADAPTIVE", forecast_trusted=trusted, anomalies_open=anomalies)
    assert strategy.name == expected and why.startswith("adaptive")


def test_resolve_unknown_strategy_is_a_typed_error():
    with pytest.raises(advice.StrategyError) as err:
        advice.resolve("yolo", forecast_trusted=True, anomalies_open=False)
    assert err.value.code == "invalid_strategy"
