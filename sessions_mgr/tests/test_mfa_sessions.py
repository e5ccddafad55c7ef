"""MFA at the critical and quantum levels: enrolment required, a code at login or a
step-up afterwards (TOTP or backup code), through the action, the API and the facade."""

import pytest
from rest_framework.test import APIClient

from security_mgr import mfa
from security_mgr.models import TOTPDevice
from sessions_mgr import actions
from sessions_mgr.actions import SessionError, do_complete_step_up, do_require_step_up
from sessions_mgr.messages import SessionMessage
from sessions_mgr.models import Session
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy.context import platform_access, tenant_context
from tests.authenticator import Enrolment, totp_code
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def login(user, tenant, **body):
    return api_as(user, tenant).post("/api/v1/sessions/", body, format="json")


def step_up(token, session_id, code, slash=False):
    url = f"/api/v1/sessions/{session_id}/step-up" + ("/" if slash else "")
    return bearer(token).post(url, {"code": code}, format="json")


def validate_url(session_id):
    return f"/api/v1/sessions/{session_id}/validate/"


def error_code(response):
    return response.json()["error"]["code"]


def reason(token, **kwargs):
    with pytest.raises(TokenError) as exc:
        validate(token, **kwargs)
    return exc.value.reason


def all_sessions():
    with platform_access("test: every session"):
        return Session.objects.count()


# --- creation -----------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["critical", "quantum"])
def test_session_mfa_not_enrolled_is_refused_and_nothing_written(make_session, level, view):
    with pytest.raises(SessionError) as exc:
        make_session(security_level=level)
    assert (exc.value.status, exc.value.code) == (403, "mfa_enrollment_required")
    with pytest.raises(SessionError):
        make_session(security_level=level, mfa_code="123456")
    assert all_sessions() == 0


def test_session_mfa_not_enrolled_api_is_403_with_reason(alpha_owner, tenant_alpha, view):
    response = login(alpha_owner, tenant_alpha, security_level="critical", mfa_code="123456")
    assert response.status_code == 403
    assert error_code(response) == "mfa_enrollment_required"
    assert "token" not in response.json()
    assert all_sessions() == 0


def test_session_mfa_enrolled_in_another_tenant_only_is_refused(
    member_of_both, tenant_alpha, tenant_beta, view
):
    Enrolment(member_of_both, tenant_beta)
    response = login(member_of_both, tenant_alpha, security_level="critical")
    assert response.status_code == 403 and error_code(response) == "mfa_enrollment_required"
    assert login(member_of_both, tenant_beta, security_level="critical").status_code == 201


def test_session_mfa_unconfirmed_authenticator_is_not_enrolment(
    make_session, alpha_owner, tenant_alpha, view
):
    with tenant_context(tenant_alpha):
        mfa.enroll_totp(alpha_owner)  # never confirmed
    with pytest.raises(SessionError) as exc:
        make_session(security_level="critical")
    assert exc.value.code == "mfa_enrollment_required"


def test_session_mfa_valid_totp_at_login_gives_a_usable_session(
    make_session, alpha_owner_mfa, view
):
    session, token = make_session(security_level="critical", mfa_code=alpha_owner_mfa.totp())
    assert session.step_up_required is False
    assert validate(token).session_id == session.pk


@pytest.mark.parametrize("level", ["standard", "high"])
def test_session_mfa_levels_without_mfa_unaffected(
    make_session, alpha_owner, tenant_alpha, level, view
):
    session, token = make_session(security_level=level)  # not enrolled, no code
    assert session.step_up_required is False
    assert validate(token).session_id == session.pk
    body = login(alpha_owner, tenant_alpha, security_level=level, mfa_code="whatever").json()
    assert body["step_up_required"] is False
    assert bearer(body["token"]).get(validate_url(body["id"])).status_code == 200


def test_session_mfa_tenant_policy_decides_where_mfa_is_required(make_session, tenant_alpha, view):
    """`mfa_required` is a policy field like the others: a tenant may demand it at the
    standard level, or waive it at critical."""
    with tenant_context(tenant_alpha):
        actions.do_set_session_policy("standard", {"mfa_required": True})
        actions.do_set_session_policy("critical", {"mfa_required": False})
    with pytest.raises(SessionError) as exc:
        make_session()
    assert exc.value.code == "mfa_enrollment_required"
    session, token = make_session(security_level="critical")
    assert session.step_up_required is False and validate(token).session_id == session.pk


# --- step-up through the API ----------------------------------------------------------------


def test_session_mfa_enrolled_without_code_needs_step_up_then_totp_lifts_it(
    alpha_owner, tenant_alpha, alpha_owner_mfa, view
):
    response = login(alpha_owner, tenant_alpha, security_level="critical")
    assert response.status_code == 201
    body = response.json()
    token, sid = body["token"], body["id"]
    assert body["step_up_required"] is True
    refused = bearer(token).get(validate_url(sid))
    assert refused.status_code == 401 and error_code(refused) == "step_up_required"
    assert bearer(token).get("/api/v1/tenant/").status_code == 401  # the whole API refuses

    done = step_up(token, sid, alpha_owner_mfa.totp())
    assert done.status_code == 200, done.content
    assert done.json() == {"session_id": sid, "step_up_required": False}
    accepted = bearer(token).get(validate_url(sid))
    assert accepted.status_code == 200 and accepted.json()["valid"] is True
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=sid).step_up_required is False


def test_session_mfa_invalid_code_refused_and_throttled(
    alpha_owner, tenant_alpha, alpha_owner_mfa, view
):
    body = login(alpha_owner, tenant_alpha, security_level="quantum").json()
    token, sid = body["token"], body["id"]
    response = step_up(token, sid, alpha_owner_mfa.wrong_totp())
    assert response.status_code == 401 and error_code(response) == "mfa_invalid"
    for junk in ("not-a-code", "12345", "x" * 10):
        response = step_up(token, sid, junk)
        assert response.status_code == 401 and error_code(response) == "mfa_invalid"
    assert step_up(token, sid, "").status_code == 400
    assert step_up(token, sid, "1" * 65).status_code == 400
    no_code = bearer(token).post(f"/api/v1/sessions/{sid}/step-up/", {}, format="json")
    assert no_code.status_code == 400
    with tenant_context(tenant_alpha):
        assert TOTPDevice.objects.get(pk=alpha_owner_mfa.device.pk).failures == 1  # counted
        assert Session.objects.get(pk=sid).step_up_required is True
    assert error_code(bearer(token).get(validate_url(sid))) == "step_up_required"

    # Past MAX_FAILURES the authenticator locks: even the right code waits.
    for _ in range(mfa.MAX_FAILURES - 1):
        step_up(token, sid, alpha_owner_mfa.wrong_totp())
    locked = step_up(token, sid, alpha_owner_mfa.totp())
    assert locked.status_code == 429 and error_code(locked) == "mfa_locked"
    assert error_code(bearer(token).get(validate_url(sid))) == "step_up_required"


def test_session_mfa_wrong_code_at_login_is_counted_and_leaves_step_up(
    make_session, tenant_alpha, alpha_owner_mfa, view
):
    session, token = make_session(security_level="critical", mfa_code=alpha_owner_mfa.wrong_totp())
    assert session.step_up_required is True
    assert reason(token) == "step_up_required"
    with tenant_context(tenant_alpha):
        assert TOTPDevice.objects.get(pk=alpha_owner_mfa.device.pk).failures == 1


def test_session_mfa_backup_code_works_once(alpha_owner, tenant_alpha, alpha_owner_mfa, view):
    code = alpha_owner_mfa.backup()
    first = login(alpha_owner, tenant_alpha, security_level="critical", mfa_code=code).json()
    assert first["step_up_required"] is False
    assert bearer(first["token"]).get(validate_url(first["id"])).status_code == 200
    second = login(alpha_owner, tenant_alpha, security_level="critical", mfa_code=code).json()
    assert second["step_up_required"] is True  # used: the second login awaits step-up
    response = step_up(second["token"], second["id"], code)
    assert response.status_code == 401 and error_code(response) == "mfa_invalid"
    other = alpha_owner_mfa.backup()
    assert step_up(second["token"], second["id"], other.upper()).status_code == 200
    assert bearer(second["token"]).get(validate_url(second["id"])).status_code == 200


def test_step_up_keeps_every_other_refusal(alpha_owner, tenant_alpha, alpha_owner_mfa, view):
    body = login(alpha_owner, tenant_alpha, security_level="critical").json()
    token, sid = body["token"], body["id"]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = step_up(forged, sid, alpha_owner_mfa.totp())
    assert response.status_code == 401 and error_code(response) == "bad_signature"
    anonymous = APIClient().post(f"/api/v1/sessions/{sid}/step-up", {"code": "123456"})
    assert anonymous.status_code == 401
    # A password login (no session token) cannot lift a step-up either.
    via_password = api_as(alpha_owner, tenant_alpha).post(
        f"/api/v1/sessions/{sid}/step-up", {"code": alpha_owner_mfa.totp()}, format="json"
    )
    assert via_password.status_code == 401
    with tenant_context(tenant_alpha):
        actions.do_revoke_session(sid)
    response = step_up(token, sid, alpha_owner_mfa.totp())
    assert response.status_code == 401 and error_code(response) == "revoked"


def test_step_up_only_for_the_tokens_own_session(
    alpha_owner, beta_owner, tenant_alpha, tenant_beta, alpha_owner_mfa, view
):
    mine = login(alpha_owner, tenant_alpha, security_level="critical").json()
    sibling = login(alpha_owner, tenant_alpha, security_level="critical").json()
    Enrolment(beta_owner, tenant_beta)
    foreign = login(beta_owner, tenant_beta, security_level="critical").json()
    missing = step_up(mine["token"], "s" * 32, alpha_owner_mfa.totp())
    assert missing.status_code == 404
    for other in (foreign["id"], sibling["id"]):
        response = step_up(mine["token"], other, alpha_owner_mfa.totp())
        assert response.status_code == 404
        assert response.content == missing.content  # same answer as a missing one
    with tenant_context(tenant_beta):
        assert Session.objects.get(pk=foreign["id"]).step_up_required is True
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=sibling["id"]).step_up_required is True
    assert step_up(mine["token"], mine["id"], alpha_owner_mfa.totp(), slash=True).status_code == 200


# --- the action, the anomaly path, the fast path -------------------------------------------------


def test_session_mfa_anomaly_step_up_lifted_by_the_same_action(
    make_session, tenant_alpha, alpha_owner_mfa, view
):
    session, token = make_session()  # standard level, usable
    validate(token)
    with tenant_context(tenant_alpha):
        do_require_step_up(session.pk)
    assert reason(token) == "step_up_required"
    with tenant_context(tenant_alpha):
        with pytest.raises(SessionError) as exc:
            do_complete_step_up(session.pk, alpha_owner_mfa.wrong_totp())
        assert (exc.value.status, exc.value.code) == (401, "mfa_invalid")
        do_complete_step_up(session.pk, alpha_owner_mfa.totp())
    assert validate(token).session_id == session.pk


def test_session_mfa_completion_is_published_to_every_process(
    make_session, tenant_alpha, alpha_owner_mfa, view, monkeypatch
):
    session, token = make_session(security_level="critical")
    assert reason(token) == "step_up_required"
    assert session.pk in view.live  # cached, refusing, in this process
    published = []
    original = actions.publish
    monkeypatch.setattr(
        actions, "publish", lambda message: (published.append(message), original(message))
    )
    with tenant_context(tenant_alpha):
        do_complete_step_up(session.pk, alpha_owner_mfa.totp())
    assert published == [SessionMessage.drop(session.pk)]  # the others drop their entry and reload
    assert session.pk not in view.live
    assert validate(token).session_id == session.pk


def test_step_up_of_missing_or_other_tenants_session_is_not_found(
    make_session, beta_owner, tenant_alpha, tenant_beta, alpha_owner_mfa
):
    Enrolment(beta_owner, tenant_beta)
    foreign, _ = make_session(tenant=tenant_beta, user=beta_owner, security_level="critical")
    with tenant_context(tenant_alpha):
        for sid in (foreign.pk, "nope"):
            with pytest.raises(SessionError) as exc:
                do_complete_step_up(sid, alpha_owner_mfa.totp())
            assert (exc.value.status, exc.value.code) == (404, "not_found")


def test_session_mfa_works_in_degraded_mode(
    make_session, tenant_alpha, alpha_owner_mfa, degraded_view
):
    session, token = make_session(security_level="critical")
    assert reason(token) == "step_up_required"
    with tenant_context(tenant_alpha):
        do_complete_step_up(session.pk, alpha_owner_mfa.totp())
    assert validate(token).session_id == session.pk


# --- facade -------------------------------------------------------------------------------


def test_facade_create_with_code_and_complete_step_up(
    alpha_owner, tenant_alpha, alpha_owner_mfa, view
):
    from managers import SessionManager

    manager = SessionManager()
    sid, token = manager.create_session_sync(
        tenant_alpha.slug,
        alpha_owner.username,
        security_level="quantum",
        mfa_code=alpha_owner_mfa.backup(),
    )
    assert manager.validate_session_sync(token).session_id == sid
    sid2, token2 = manager.create_session_sync(
        tenant_alpha.pk, alpha_owner.pk, security_level="critical"
    )
    with pytest.raises(TokenError) as exc:
        manager.validate_session_sync(token2)
    assert exc.value.reason == "step_up_required"
    with pytest.raises(SessionError) as refused:
        manager.complete_step_up_sync(sid2, alpha_owner_mfa.wrong_totp())
    assert refused.value.code == "mfa_invalid"
    assert manager.complete_step_up_sync(sid2, alpha_owner_mfa.totp()) is True
    assert manager.validate_session_sync(token2).session_id == sid2


def test_facade_async_twins(alpha_owner, tenant_alpha, alpha_owner_mfa, view):
    from asgiref.sync import async_to_sync

    from managers import SessionManager

    manager = SessionManager()

    async def run():
        sid, token = await manager.create_session(
            tenant_alpha.pk, alpha_owner.pk, security_level="critical"
        )
        assert await manager.complete_step_up(sid, alpha_owner_mfa.backup())
        return sid, await manager.validate_session(token)

    sid, checked = async_to_sync(run)()
    assert checked.session_id == sid


def test_facade_not_enrolled_is_4xx(alpha_owner, tenant_alpha):
    from managers import SessionManager

    with pytest.raises(SessionError) as exc:
        SessionManager().create_session_sync(
            tenant_alpha.pk, alpha_owner.pk, security_level="critical"
        )
    assert (exc.value.status, exc.value.code) == (403, "mfa_enrollment_required")


# --- a code already used (issue 10, point 12) ------------------------------------------------


def _enrol_with_current_code(user, tenant):
    """What a user does: scan the QR code, type the code the app shows now."""
    with tenant_context(tenant):
        device, _uri = mfa.enroll_totp(user)
        device = TOTPDevice.objects.get(pk=device.pk)
        code = totp_code(device)
        assert mfa.confirm_totp(device.pk, code)
    return code


def test_session_mfa_code_just_used_for_enrolment_is_refused_at_creation_as_replayed(
    make_session, alpha_owner, tenant_alpha, view
):
    """It used to give a session under step-up whose token the same code could never
    lift: refused at once, nothing written."""
    code = _enrol_with_current_code(alpha_owner, tenant_alpha)
    with pytest.raises(SessionError) as exc:
        make_session(security_level="critical", mfa_code=code)
    assert (exc.value.status, exc.value.code) == (401, "mfa_replayed")
    assert "already used" in exc.value.message
    assert all_sessions() == 0


def test_session_mfa_replayed_code_through_the_api_is_401_mfa_replayed(
    alpha_owner, tenant_alpha, view
):
    code = _enrol_with_current_code(alpha_owner, tenant_alpha)
    response = login(alpha_owner, tenant_alpha, security_level="critical", mfa_code=code)
    assert response.status_code == 401, response.content
    assert error_code(response) == "mfa_replayed"
    assert "token" not in response.json()
    assert all_sessions() == 0


def test_session_mfa_code_used_at_one_login_is_refused_at_the_next(
    make_session, alpha_owner_mfa, view
):
    code = alpha_owner_mfa.totp()
    session, _token = make_session(security_level="critical", mfa_code=code)
    assert session.step_up_required is False
    with pytest.raises(SessionError) as exc:
        make_session(security_level="critical", mfa_code=code)
    assert exc.value.code == "mfa_replayed"


def test_session_mfa_replayed_code_at_step_up_says_so(
    alpha_owner, tenant_alpha, alpha_owner_mfa, view
):
    body = login(alpha_owner, tenant_alpha, security_level="critical").json()
    code = alpha_owner_mfa.totp()
    assert step_up(body["token"], body["id"], code).status_code == 200
    with tenant_context(tenant_alpha):
        do_require_step_up(body["id"])
    again = step_up(body["token"], body["id"], code)
    assert again.status_code == 401 and error_code(again) == "mfa_replayed"
