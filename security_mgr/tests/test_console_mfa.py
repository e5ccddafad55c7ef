"""The console's second factor without a browser: which pages it guards, factors across
the user's tenants, adding a factor, the relying party's host, malformed requests.
(The same flows run in Chromium in test_browser_mfa.py.)"""

import json

import pytest
from rest_framework.test import APIClient

from security_mgr import mfa, passkeys
from security_mgr.models import PasskeyCredential
from security_mgr.tests.soft_authenticator import SoftAuthenticator
from tenancy.context import tenant_context
from tests.authenticator import Enrolment
from tests.personas import PASSWORD, api_as, audit_entries

pytestmark = pytest.mark.django_db
MFA = "/api/v1/security/mfa"


def _passkey(user, tenant, host="testserver"):
    device = SoftAuthenticator(host, f"http://{host}")
    with tenant_context(tenant):
        options = passkeys.registration_options(user, rp_id=host)
        passkeys.register(user, device.create(options), rp_id=host, origin=f"http://{host}")
    return device


@pytest.mark.parametrize("path", ["/", "/console/security/", "/console/passkeys/", "/admin/"])
def test_console_mfa_guard_covers_every_console_page(client, alpha_owner, tenant_alpha, path):
    Enrolment(alpha_owner, tenant_alpha)
    client.force_login(alpha_owner)
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/console/mfa/")
    assert client.get("/console/mfa/").status_code == 200  # the step itself is open


def test_console_mfa_guard_asks_whatever_tenant_the_console_acts_in(
    client, member_of_both, tenant_alpha, tenant_beta
):
    app = Enrolment(member_of_both, tenant_alpha)
    client.force_login(member_of_both)
    for path in ("/admin/?tenant=beta", "/?tenant=beta"):
        response = client.get(path)
        assert response.status_code == 302, path  # beta holds no factor: still asked
    assert response["Location"] == "/console/mfa/?next=%2F%3Ftenant%3Dbeta"
    client.post("/console/switch-tenant/", {"tenant": "beta"})  # guarded too
    assert client.get("/admin/").status_code == 302
    passed = client.post("/console/mfa/", {"code": app.totp(), "next": "/admin/?tenant=beta"})
    assert passed.status_code == 302 and passed["Location"] == "/admin/?tenant=beta"
    assert client.get("/admin/?tenant=beta").status_code == 200
    assert len(audit_entries(tenant_alpha, "mfa.verified")) == 1


def test_console_mfa_backup_code_of_the_second_tenant_passes(
    client, member_of_both, tenant_alpha, tenant_beta
):
    """Regression: the step tried backup codes in the first tenant only."""
    Enrolment(member_of_both, tenant_alpha)
    Enrolment(member_of_both, tenant_beta)
    with tenant_context(tenant_beta):
        codes = mfa.generate_backup_codes(member_of_both)
    client.force_login(member_of_both)
    passed = client.post("/console/mfa/", {"code": codes[0]})
    assert passed.status_code == 302 and passed["Location"] == "/admin/"
    client.logout()
    client.force_login(member_of_both)
    again = client.post("/console/mfa/", {"code": codes[0]})  # single use
    assert again.status_code == 200 and b"not valid" in again.content


def test_console_mfa_factors_count_only_in_the_users_tenants(
    client, member_of_both, tenant_alpha, tenant_beta
):
    from tenancy.models import Membership

    _passkey(member_of_both, tenant_alpha)
    assert mfa.enrolled_tenants(member_of_both) == [tenant_alpha.pk]
    with tenant_context(tenant_alpha):  # memberships are written in their tenant's context
        Membership.objects.filter(user=member_of_both, tenant=tenant_alpha).delete()
    assert mfa.enrolled_tenants(member_of_both) == []
    client.force_login(member_of_both)
    assert client.get("/admin/").status_code == 200


def test_console_mfa_superusers_factors_are_found_in_any_tenant(client, superuser, tenant_beta):
    Enrolment(superuser, tenant_beta)  # not a member: a superuser may act (and enrol) anywhere
    assert mfa.enrolled_tenants(superuser) == [tenant_beta.pk]
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 302


def test_console_mfa_operator_pages_do_not_each_open_the_escape_hatch(
    client, superuser, tenant_alpha
):
    client.force_login(superuser)
    for _ in range(3):
        assert client.get("/admin/?tenant=alpha").status_code == 200  # not enrolled
    asked = [e for e in audit_entries(None, "platform.access") if "second factor" in e.data]
    assert len(asked) == 1
    Enrolment(superuser, tenant_alpha)  # enrolling drops the kept answer at once
    assert client.get("/admin/?tenant=alpha").status_code == 302


def test_console_mfa_adding_a_factor_needs_the_existing_one(client, alpha_viewer, tenant_alpha):
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION=_basic("victor"), HTTP_X_TENANT="alpha")
    first = basic.post(f"{MFA}/totp/", {"name": "phone"}, format="json")
    assert first.status_code == 201  # nothing to prove yet
    Enrolment(alpha_viewer, tenant_alpha)
    for path, body in (
        (f"{MFA}/totp/", {"name": "second"}),
        (f"{MFA}/backup-codes/", None),
        (f"{MFA}/passkeys/register/options/", None),
        (f"{MFA}/passkeys/register/", {"credential": {}}),
    ):
        refused = basic.post(path, body, format="json")
        assert refused.status_code == 403, (path, refused.content)
        assert refused.json()["error"]["code"] == "mfa_required"
    session = api_as(alpha_viewer, tenant_alpha)  # a console session that has not passed
    assert session.post(f"{MFA}/backup-codes/").status_code == 403
    passed = session.post(f"{MFA}/totp/verify/", {"code": "000000"}, format="json")
    assert passed.status_code == 200  # checking a code is not passing the step


def test_console_mfa_session_that_passed_may_add_a_factor(client, alpha_viewer, tenant_alpha):
    app = Enrolment(alpha_viewer, tenant_alpha)
    session = api_as(alpha_viewer, tenant_alpha)
    assert session.post("/console/mfa/", {"code": app.totp()}).status_code == 302
    assert session.post(f"{MFA}/backup-codes/").status_code == 201


def test_console_mfa_confirming_the_first_factor_passes_the_console_session(
    alpha_viewer, tenant_alpha
):
    import pyotp

    session = api_as(alpha_viewer, tenant_alpha)
    enrolled = session.post(f"{MFA}/totp/", {"name": "phone"}, format="json").json()
    app = pyotp.parse_uri(enrolled["otpauth_uri"])
    confirmed = session.post(
        f"{MFA}/totp/confirm/", {"device": enrolled["device"], "code": app.now()}, format="json"
    )
    assert confirmed.json() == {"confirmed": True}
    assert session.post(f"{MFA}/backup-codes/").status_code == 201


def test_console_mfa_ip_address_is_no_relying_party(client, alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    refused = api.post(f"{MFA}/passkeys/register/options/", HTTP_HOST="127.0.0.1:8000")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "passkey_host_invalid" and "http://localhost:8000/" in error["message"]
    assert api.post(f"{MFA}/passkeys/register/options/").status_code == 200  # by name
    client.force_login(alpha_owner)
    page = client.post("/console/passkeys/options/", HTTP_HOST="[::1]:8000")
    assert page.status_code == 400 and page.json()["error"]["code"] == "passkey_host_invalid"


@pytest.mark.parametrize("body", [b"", b"nonsense", b"[1]", b'{"credential": 5, "name": 7}'])
def test_console_registration_refuses_malformed_bodies(client, alpha_owner, tenant_alpha, body):
    client.force_login(alpha_owner)
    assert client.post("/console/passkeys/options/").status_code == 200
    response = client.post("/console/passkeys/register/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["message"]
    with tenant_context(tenant_alpha):
        assert not PasskeyCredential.objects.exists()


def test_console_registration_needs_a_tenant(client, superuser, tenant_alpha):
    client.force_login(superuser)  # no tenant chosen: platform view
    assert b"Choose a tenant" in client.get("/console/passkeys/").content
    refused = client.post("/console/passkeys/options/")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "tenant_required"


def test_console_registration_then_the_step(client, alpha_owner, tenant_alpha, tenant_beta):
    client.force_login(alpha_owner)
    device = SoftAuthenticator("testserver", "http://testserver")
    options = client.post("/console/passkeys/options/").json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    created = client.post(
        "/console/passkeys/register/",
        json.dumps({"name": "key", "credential": device.create(options)}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    with tenant_context(tenant_alpha):
        assert PasskeyCredential.objects.get().user_verified is True
    with tenant_context(tenant_beta):
        assert not PasskeyCredential.objects.exists()
    again = client.post("/console/passkeys/options/").json()
    assert [c["id"] for c in again["excludeCredentials"]] == [_b64(device)]

    client.logout()
    client.force_login(alpha_owner)
    assert client.get("/admin/").status_code == 302
    stale = client.post("/console/mfa/passkey/", "{}", content_type="application/json")
    assert stale.status_code == 400 and "no pending challenge" in stale.json()["error"]["message"]
    options = client.post("/console/mfa/passkey/options/").json()
    answer = json.dumps(device.get(options))
    ok = client.post("/console/mfa/passkey/", answer, content_type="application/json")
    assert ok.status_code == 200 and client.get("/admin/").status_code == 200
    replay = client.post("/console/mfa/passkey/", answer, content_type="application/json")
    assert replay.status_code == 400  # the challenge was used once


def _b64(device):
    from security_mgr.tests.soft_authenticator import b64url

    return b64url(device.credential_id)


def _basic(username):
    import base64

    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


def test_passkey_registration_options_console_and_api_name_the_same_relying_party(
    client, alpha_owner, tenant_alpha, settings
):
    settings.WEBAUTHN_RP_NAME = "Example Corp"
    client.force_login(alpha_owner)
    console = client.post("/console/passkeys/options/").json()
    api = api_as(alpha_owner, tenant_alpha).post(f"{MFA}/passkeys/register/options/").json()
    assert console["rp"] == api["rp"] == {"id": "testserver", "name": "Example Corp"}
