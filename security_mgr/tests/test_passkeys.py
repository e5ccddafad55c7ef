"""WebAuthn passkeys against a software authenticator: user verification required,
challenges single use, sign counter, malformed payloads refused with a reason."""

import pytest

import audit_mgr as audit
from audit_mgr.models import AuditEntry
from security_mgr import passkeys
from security_mgr.models import PasskeyCredential
from security_mgr.tests.soft_authenticator import AT, UP, SoftAuthenticator
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
RP, ORIGIN = "localhost", "http://localhost:8000"


def _register(user, authenticator, **flags):
    options = passkeys.registration_options(user, rp_id=RP)
    assert options["authenticatorSelection"]["userVerification"] == "required"
    return passkeys.register(user, authenticator.create(options, **flags), rp_id=RP, origin=ORIGIN)


def test_passkeys_register_and_authenticate_with_user_verification(tenant_alpha, alpha_owner):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_alpha):
        passkey = _register(alpha_owner, device)
        for expected in (1, 2):
            options = passkeys.authentication_options(alpha_owner, rp_id=RP)
            used = passkeys.authenticate(alpha_owner, device.get(options), rp_id=RP, origin=ORIGIN)
            assert used.pk == passkey.pk and used.sign_count == expected
        audit.flush()  # the test transaction never commits: sequence now
        events = list(AuditEntry.objects.values_list("event", flat=True))
        assert events.count("mfa.passkey_verified") == 2


def test_passkeys_without_user_verification_it_is_refused(tenant_alpha, alpha_owner):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_alpha):
        with pytest.raises(passkeys.PasskeyError, match="registration refused"):
            _register(alpha_owner, device, flags=UP | AT)  # presence only, no verification
        _register(alpha_owner, device)
        options = passkeys.authentication_options(alpha_owner, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError, match="authentication refused"):
            passkeys.authenticate(
                alpha_owner, device.get(options, flags=UP), rp_id=RP, origin=ORIGIN
            )
        audit.flush()  # the test transaction never commits: sequence now
        assert AuditEntry.objects.filter(event="mfa.passkey_failed").count() == 1


def test_passkeys_challenges_are_single_use_and_bound_to_origin(tenant_alpha, alpha_owner):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_alpha):
        _register(alpha_owner, device)
        options = passkeys.authentication_options(alpha_owner, rp_id=RP)
        response = device.get(options)
        passkeys.authenticate(alpha_owner, response, rp_id=RP, origin=ORIGIN)
        with pytest.raises(passkeys.PasskeyError, match="no pending challenge"):
            passkeys.authenticate(alpha_owner, response, rp_id=RP, origin=ORIGIN)  # replay
        phishing = SoftAuthenticator(RP, "https://evil.example")
        phishing.key, phishing.credential_id = device.key, device.credential_id
        options = passkeys.authentication_options(alpha_owner, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError):
            passkeys.authenticate(alpha_owner, phishing.get(options), rp_id=RP, origin=ORIGIN)


@pytest.mark.parametrize(
    "payload", ["not json", "[]", {}, {"id": "!!", "response": {}}, {"rawId": "AAAA"}]
)
def test_passkeys_malformed_payloads_are_refused_with_a_reason(tenant_alpha, alpha_owner, payload):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_alpha):
        passkeys.registration_options(alpha_owner, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError):
            passkeys.register(alpha_owner, payload, rp_id=RP, origin=ORIGIN)
        _register(alpha_owner, device)
        passkeys.authentication_options(alpha_owner, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError):
            passkeys.authenticate(alpha_owner, payload, rp_id=RP, origin=ORIGIN)
        assert PasskeyCredential.objects.count() == 1


def test_passkeys_over_the_api(tenant_alpha, alpha_viewer):
    from tests.personas import api_as

    api = api_as(alpha_viewer, tenant_alpha)
    base = "/api/v1/security/mfa/passkeys"
    device = SoftAuthenticator("testserver", "http://testserver")
    options = api.post(f"{base}/register/options/").json()
    created = api.post(
        f"{base}/register/", {"credential": device.create(options), "name": "laptop"}, format="json"
    )
    assert created.status_code == 201, created.content
    options = api.post(f"{base}/authenticate/options/").json()
    done = api.post(f"{base}/authenticate/", {"credential": device.get(options)}, format="json")
    assert done.status_code == 200 and done.json()["verified"] is True
    for bad in ("x", {"id": 1}, [1, 2]):
        api.post(f"{base}/authenticate/options/")
        response = api.post(f"{base}/authenticate/", {"credential": bad}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "passkey_invalid"


def test_passkeys_users_pass_a_second_factor_before_the_console(tenant_alpha, alpha_owner, client):
    import json

    device = SoftAuthenticator("testserver", "http://testserver")
    with tenant_context(tenant_alpha):
        _options = passkeys.registration_options(alpha_owner, rp_id="testserver")
        passkeys.register(
            alpha_owner, device.create(_options), rp_id="testserver", origin="http://testserver"
        )
    client.force_login(alpha_owner)
    assert client.get("/admin/").status_code == 302  # enrolled: the step comes first
    page = client.get("/console/mfa/?next=/admin/</script>")
    assert b'</script>"' not in page.content and b"use-passkey" in page.content
    options = client.post("/console/mfa/passkey/options/").json()
    bad = client.post("/console/mfa/passkey/", "nonsense", content_type="application/json")
    assert bad.status_code == 400
    options = client.post("/console/mfa/passkey/options/").json()
    ok = client.post(
        "/console/mfa/passkey/", json.dumps(device.get(options)), content_type="application/json"
    )
    assert ok.status_code == 200, ok.content
    assert client.get("/admin/").status_code == 200
