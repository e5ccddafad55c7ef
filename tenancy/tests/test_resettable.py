"""The registry of process state that every test starts without (tests/personas.py)."""

import pytest

from tenancy import resettable


def test_resettable_reset_all_calls_every_registered_reset(monkeypatch):
    monkeypatch.setattr(resettable, "_resets", {})
    seen: list = []
    cache = {"stale": 1}
    resettable.register(cache.clear, name="test.cache")

    @resettable.register
    def forget():
        seen.append("forget")

    resettable.reset_all()
    assert cache == {} and seen == ["forget"]
    assert resettable.registered() == [f"{__name__}.{forget.__qualname__}", "test.cache"]


def test_resettable_register_needs_a_name_for_a_builtin_method(monkeypatch):
    monkeypatch.setattr(resettable, "_resets", {})
    with pytest.raises(TypeError, match="needs a name="):
        resettable.register({}.clear)


def test_resettable_process_caches_of_every_app_are_registered():
    from security_mgr import keyring, threats, throttle_store  # noqa: F401
    from sessions_mgr import analytics, authentication, fastpath, keys, policy  # noqa: F401
    from tenancy import degraded, membership_cache  # noqa: F401

    assert {
        "security_mgr.keyring.reset",
        "security_mgr.threats.forget_policies",
        "security_mgr.throttle_store.reset",
        "ai_mgr.loader._cache",  # the sessions' anomaly models are the registry's
        "sessions_mgr.authentication._slug_ids",
        "sessions_mgr.fastpath.reset_view",
        "sessions_mgr.keys.forget_state",
        "sessions_mgr.policy.forget",
        "tenancy.degraded.reset",
        "tenancy.membership_cache.reset",
    } <= set(resettable.registered())
