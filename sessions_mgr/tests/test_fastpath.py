import time

import pytest

from sessions_mgr import fastpath
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tests.personas import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis(settings, monkeypatch):
    """Redis configured but not answering (nothing listens on port 1)."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.SESSION_FASTPATH_LISTENER = True
    monkeypatch.setattr(fastpath, "_redis", None)
    yield
    fastpath.stop_listener()
    fastpath._redis = None


def test_fastpath_redis_down_validation_falls_back_to_database(
    make_session, tenant_a, dead_redis, caplog
):
    from sessions_mgr.actions import do_revoke_session
    from tenancy.context import tenant_context

    session, token = make_session()
    assert validate(token).session_id == session.pk  # works, from the database
    view = fastpath.get_view()
    assert view.healthy is False and view.counters.db_validations == 1
    with tenant_context(tenant_a):
        assert do_revoke_session(session.pk)  # publishing fails, the write does not
    with pytest.raises(TokenError) as exc:
        validate(token)
    assert exc.value.reason == "revoked"
    deadline = time.monotonic() + 5
    while view.counters.redis_errors < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the listener's failed connection attempt
    assert view.counters.redis_errors >= 2
    logged = {r.message for r in caplog.records}
    assert {"session_validation_degraded", "session_publish_failed"} <= logged


def test_fastpath_apply_is_idempotent_and_monotonic(view):
    view.apply("g|abc|3")
    view.apply("g|abc|2")  # an older message arriving late changes nothing
    assert view.min_generation["abc"] == 3
    view.apply("t|5|1000")
    view.apply("t|5|500")
    assert view.tenant_cutoff[5] == 1000
    view.apply("r|abc|9999999999")
    view.apply("r|abc|9999999999")
    assert view.is_dead("abc", 9, 1, 0)
    view.apply("garbage")
    view.apply("r|only-one-part")
    assert view.counters.messages_applied == 6


def test_fastpath_prune_forgets_expired_revocations(view):
    view.apply("r|old|10")
    view.apply("r|new|9999999999")
    view.prune(now=100)
    assert "old" not in view.revoked and "new" in view.revoked


def test_fastpath_health_endpoint_for_operators(superuser, owner_a, tenant_a, view):
    body = api_as(superuser).get("/api/v1/sessions/health/").json()
    assert body["mode"] == "fast" and "db_validations" in body["counters"]
    assert api_as(owner_a, tenant_a).get("/api/v1/sessions/health/").status_code == 403


def test_fastpath_policy_message_drops_cached_entries_of_that_tenant(make_session, tenant_a, view):
    from sessions_mgr.actions import do_set_session_policy
    from tenancy.context import tenant_context

    _s, token = make_session()
    validate(token)
    assert len(view.live) == 1
    with tenant_context(tenant_a):
        do_set_session_policy("standard", {"idle_seconds": 120})
    assert view.live == {}
    validate(token)
    assert next(iter(view.live.values())).idle_seconds == 120


def test_fastpath_policy_changed_through_settings_api_reaches_cached_sessions(
    make_session, owner_a, tenant_a, view
):
    _s, token = make_session()
    validate(token)
    response = api_as(owner_a, tenant_a).post(
        "/api/v1/settings/",
        {"key": "session.policy.standard", "value": {"idle_seconds": 90}},
        format="json",
    )
    assert response.status_code == 201, response.content
    validate(token)
    assert next(iter(view.live.values())).idle_seconds == 90
