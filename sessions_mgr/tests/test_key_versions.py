"""Session key versions as internal state (issue 10, points 1 and 6): their own model,
out of reach of the settings API; every version of the grace period stays valid however
many rotations fall inside it; a token refused for a retired version is `key_retired`, a
client mistake, never counted as forged."""

import time

import pytest
from rest_framework.test import APIClient

from audit_mgr.models import EventType, SecurityEvent
from sessions_mgr import keys, tokens
from sessions_mgr.actions import do_revoke_tenant_sessions, do_rotate_session_key
from sessions_mgr.models import SessionKeyVersion, TenantSessionCutoff
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def reason(token, **kwargs) -> str:
    with pytest.raises(TokenError) as exc:
        validate(token, **kwargs)
    return exc.value.reason


def rotate(tenant, grace=3600):
    with tenant_context(tenant):
        return do_rotate_session_key(grace_seconds=grace)


def end_grace(tenant, version):
    """The grace period of `version` is over (as if its time had passed)."""
    from django.utils import timezone

    with tenant_context(tenant):
        SessionKeyVersion.objects.filter(version=version).update(
            accepted_until=timezone.now() - timezone.timedelta(seconds=1)
        )
    keys.forget_state()


def bearer(token, ip="192.0.2.44"):
    return APIClient(REMOTE_ADDR=ip).get("/api/v1/tenant/", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_key_versions_every_token_of_the_grace_period_survives_several_rotations(
    make_session, tenant_alpha, view
):
    """The issue: two rotations made tokens from two versions back fail."""
    minted = []
    for _ in range(4):
        minted.append(make_session()[1])
        state = rotate(tenant_alpha)
    assert state.current == 5
    assert [tokens.parse(t).key_version for t in minted] == [1, 2, 3, 4]
    for token in minted:
        validate(token)
    assert tokens.parse(make_session()[1]).key_version == 5
    assert sorted(state.accepted_versions()) == [1, 2, 3, 4, 5]


def test_key_versions_retired_version_after_its_grace_is_key_retired_not_forged(
    make_session, tenant_alpha, view
):
    _s, old = make_session()
    rotate(tenant_alpha)
    _s, new = make_session()
    end_grace(tenant_alpha, 1)
    assert reason(old) == "key_retired"
    validate(new)
    # Its MAC made up: forged, whatever the version says.
    forged = old[:-43] + ("A" * 42 + "Q" if not old.endswith("A" * 42 + "Q") else "B" * 42 + "Q")
    assert reason(forged) == "bad_signature"


def test_key_versions_retired_tokens_through_the_api_are_never_throttled_as_forged(
    make_session, tenant_alpha, view
):
    _s, old = make_session()
    rotate(tenant_alpha)
    end_grace(tenant_alpha, 1)
    answers = [bearer(old) for _ in range(30)]
    assert {a.status_code for a in answers} == {401}
    assert {a.json()["error"]["code"] for a in answers} == {"key_retired"}
    assert "sign in again" in answers[0].json()["error"]["message"]
    with tenant_context(tenant_alpha):
        assert not SecurityEvent.objects.filter(type=EventType.FORGED_TOKENS).exists()


def test_key_versions_newer_version_rotated_by_another_process_is_accepted_at_once(
    make_session, tenant_alpha, view
):
    keys.key_state(tenant_alpha.pk)  # this process caches version 1
    rotate(tenant_alpha)
    session, new = make_session()
    # Another process rotated: this one still holds the old state, freshly loaded.
    keys._states[tenant_alpha.pk] = (time.monotonic(), keys.SessionKeyVersions())
    assert validate(new).session_id == session.pk
    assert keys.key_state(tenant_alpha.pk).current == 2  # reloaded for the genuine token


def test_key_versions_made_up_newer_version_is_forged(make_session, tenant_alpha, view):
    _s, token = make_session()
    parts = token.split(".")
    parts[4] = "9"
    assert reason(".".join(parts)) == "bad_signature"


def test_key_versions_are_not_settings(make_session, alpha_owner, tenant_alpha, view):
    """The issue: the version lived in a setting an admin could delete through
    /api/v1/settings/; deleting it revived a retired token and refused current ones."""
    _s, retired = make_session()
    rotate(tenant_alpha)
    end_grace(tenant_alpha, 1)
    _s, current = make_session()
    client = api_as(alpha_owner, tenant_alpha)
    listed = client.get("/api/v1/settings/").json()
    assert "session.keys" not in [s["key"] for s in listed["results"]]
    # A setting of that name is just a setting now: it changes nothing.
    created = client.post(
        "/api/v1/settings/",
        {"key": "session.keys", "value": {"current": 1, "previous": None}},
        format="json",
    )
    assert created.status_code == 201
    assert client.delete(f"/api/v1/settings/{created.json()['id']}/").status_code == 204
    keys.forget_state()
    validate(current)
    assert reason(retired) == "key_retired"
    with tenant_context(tenant_alpha):
        assert not TenantSetting.objects.filter(key__startswith="session.").exists()


def test_tenant_cutoff_is_not_a_setting(make_session, tenant_alpha, view):
    _s, token = make_session()
    with tenant_context(tenant_alpha):
        do_revoke_tenant_sessions()
        assert not TenantSetting.objects.filter(key="session.revoked_before").exists()
        assert TenantSessionCutoff.objects.get().revoked_before_ms > 0
    assert reason(token) == "revoked"
    # A fresh process learns the cutoff from the model on resync.
    from sessions_mgr.fastpath import reset_view

    fresh = reset_view()
    fresh.resync()
    assert fresh.tenant_cutoff[tenant_alpha.pk] > 0


def test_key_versions_rotation_answer_and_public_keys_list_every_accepted_version(
    alpha_owner, tenant_alpha, api, view
):
    client = api_as(alpha_owner, tenant_alpha)
    client.post("/api/v1/sessions/rotate-key/")
    answer = client.post("/api/v1/sessions/rotate-key/").json()
    assert answer["current"] == 3 and answer["previous"] == 2
    assert [v["version"] for v in answer["accepted"]] == [3, 2, 1]
    published = api.get(f"/api/v1/tenants/{tenant_alpha.slug}/session-keys/").json()
    assert [k["version"] for k in published["keys"]] == [3, 2, 1]
    assert [k["current"] for k in published["keys"]] == [True, False, False]


def test_key_versions_legacy_setting_is_migrated_into_the_model(tenant_alpha, tenant_beta):
    """The data migration moves `session.keys` and `session.revoked_before` out of the
    settings (run here on the live models, as the migration runs on historical ones)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("sessions_mgr.migrations.0003_internal_session_state")
    future = time.time() + 3600
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(
            key="session.keys", value={"current": 3, "previous": 2, "previous_until": future}
        )
        TenantSetting.objects.create(key="session.revoked_before", value={"at": 1234})
    with tenant_context(tenant_beta):
        TenantSetting.objects.create(key="session.keys", value="garbage")
    migration.move_state_out_of_settings(apps, None)
    keys.forget_state()
    state = keys.key_state(tenant_alpha.pk)
    assert state.current == 3 and state.accepts(2, time.time())
    assert not state.accepts(1, time.time())
    assert keys.key_state(tenant_beta.pk).current == 1
    with tenant_context(tenant_alpha):
        assert TenantSessionCutoff.objects.get().revoked_before_ms == 1234
        assert not TenantSetting.objects.filter(key__startswith="session.").exists()
    with tenant_context(tenant_beta):
        assert not TenantSetting.objects.filter(key="session.keys").exists()
