import time

import pytest

from sessions_mgr import fastpath
from sessions_mgr.messages import MalformedMessage, SessionMessage
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tests.personas import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis(settings):
    """Redis configured but not answering (nothing listens on port 1)."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.SESSION_FASTPATH_LISTENER = True
    yield
    fastpath.stop_listener()


def test_fastpath_redis_down_validation_falls_back_to_database(
    make_session, tenant_alpha, dead_redis, caplog
):
    from sessions_mgr.actions import do_revoke_session
    from tenancy.context import tenant_context

    session, token = make_session()
    assert validate(token).session_id == session.pk  # works, from the database
    view = fastpath.get_view()
    assert view.healthy is False and view.counters.db_validations == 1
    with tenant_context(tenant_alpha):
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
    view.apply(SessionMessage.refreshed("abc", 3))
    view.apply(SessionMessage.refreshed("abc", 2))  # an older message arriving late: no-op
    assert view.min_generation["abc"] == 3
    view.apply(SessionMessage.tenant_cutoff(5, 1000))
    view.apply(SessionMessage.tenant_cutoff(5, 500))
    assert view.tenant_cutoff[5] == 1000
    view.apply(SessionMessage.revoked("abc", 9999999999))
    view.apply(SessionMessage.revoked("abc", 9999999999))
    assert view.is_dead("abc", 9, 1, 0)
    assert view.counters.messages_applied == 6


def test_fastpath_apply_wire_refuses_malformed_messages(view, caplog):
    for text in ("garbage", "r|only-one-part", "r|abc|soon", "g|abc|1.5", "t|x|1", "d|", "k|1|2"):
        assert view.apply_wire(text) is False, text
    assert view.revoked == {} and view.counters.messages_applied == 0
    assert {r.message for r in caplog.records} == {"session_event_malformed"}
    assert view.apply_wire("r|abc|9999999999") is True
    assert "abc" in view.revoked


@pytest.mark.parametrize(
    "message",
    [
        SessionMessage.revoked("abc", 1700000000.25),
        SessionMessage.refreshed("abc", 4),
        SessionMessage.tenant_cutoff(7, 1700000000123),
        SessionMessage.drop("abc"),
        SessionMessage.keys_changed(7),
        SessionMessage.policy_changed(7),
    ],
)
def test_session_message_round_trips_through_the_wire(message):
    assert SessionMessage.from_wire(message.to_wire()) == message


def test_session_message_from_wire_names_the_expected_form():
    with pytest.raises(MalformedMessage, match=r"r\|<session id>\|<expires at>"):
        SessionMessage.from_wire("r|abc")
    with pytest.raises(MalformedMessage, match="unknown message"):
        SessionMessage.from_wire("x|abc")
    with pytest.raises(MalformedMessage, match="is not of the form"):
        SessionMessage.refreshed("abc|def", 1)  # an id containing the separator


def test_fastpath_prune_forgets_expired_revocations(view):
    view.apply(SessionMessage.revoked("old", 10))
    view.apply(SessionMessage.revoked("new", 9999999999))
    view.prune(now=100)
    assert "old" not in view.revoked and "new" in view.revoked


def test_fastpath_health_endpoint_for_operators(superuser, alpha_owner, tenant_alpha, view):
    body = api_as(superuser).get("/api/v1/sessions/health/").json()
    assert body["mode"] == "fast" and "db_validations" in body["counters"]
    assert api_as(alpha_owner, tenant_alpha).get("/api/v1/sessions/health/").status_code == 403


def test_fastpath_policy_message_drops_cached_entries_of_that_tenant(
    make_session, tenant_alpha, view
):
    from sessions_mgr.actions import do_set_session_policy
    from tenancy.context import tenant_context

    _s, token = make_session()
    validate(token)
    assert len(view.live) == 1
    with tenant_context(tenant_alpha):
        do_set_session_policy("standard", {"idle_seconds": 120})
    assert view.live == {}
    validate(token)
    assert next(iter(view.live.values())).idle_seconds == 120


def test_fastpath_policy_changed_through_settings_api_reaches_cached_sessions(
    make_session, alpha_owner, tenant_alpha, view
):
    _s, token = make_session()
    validate(token)
    response = api_as(alpha_owner, tenant_alpha).post(
        "/api/v1/settings/",
        {"key": "session.policy.standard", "value": {"idle_seconds": 90}},
        format="json",
    )
    assert response.status_code == 201, response.content
    validate(token)
    assert next(iter(view.live.values())).idle_seconds == 90
