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


def test_passkeys_register_and_authenticate_with_user_verification(tenant_a, owner_a):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_a):
        passkey = _register(owner_a, device)
        for expected in (1, 2):
            options = passkeys.authentication_options(owner_a, rp_id=RP)
            used = passkeys.authenticate(owner_a, device.get(options), rp_id=RP, origin=ORIGIN)
            assert used.pk == passkey.pk and used.sign_count == expected
        audit.flush()  # the test transaction never commits: sequence now
        events = list(AuditEntry.objects.values_list("event", flat=True))
        assert events.count("mfa.passkey_verified") == 2


def test_passkeys_without_user_verification_it_is_refused(tenant_a, owner_a):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_a):
        with pytest.raises(passkeys.PasskeyError, match="registration refused"):
            _register(owner_a, device, flags=UP | AT)  # presence only, no verification
        _register(owner_a, device)
        options = passkeys.authentication_options(owner_a, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError, match="authentication refused"):
            passkeys.authenticate(owner_a, device.get(options, flags=UP), rp_id=RP, origin=ORIGIN)
        audit.flush()  # the test transaction never commits: sequence now
        assert AuditEntry.objects.filter(event="mfa.passkey_failed").count() == 1


def test_passkeys_challenges_are_single_use_and_bound_to_origin(tenant_a, owner_a):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_a):
        _register(owner_a, device)
        options = passkeys.authentication_options(owner_a, rp_id=RP)
        response = device.get(options)
        passkeys.authenticate(owner_a, response, rp_id=RP, origin=ORIGIN)
        with pytest.raises(passkeys.PasskeyError, match="no pending challenge"):
            passkeys.authenticate(owner_a, response, rp_id=RP, origin=ORIGIN)  # replay
        phishing = SoftAuthenticator(RP, "https://evil.example")
        phishing.key, phishing.credential_id = device.key, device.credential_id
        options = passkeys.authentication_options(owner_a, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError):
            passkeys.authenticate(owner_a, phishing.get(options), rp_id=RP, origin=ORIGIN)


@pytest.mark.parametrize(
    "payload", ["not json", "[]", {}, {"id": "!!", "response": {}}, {"rawId": "AAAA"}]
)
def test_passkeys_malformed_payloads_are_refused_with_a_reason(tenant_a, owner_a, payload):
    device = SoftAuthenticator(RP, ORIGIN)
    with tenant_context(tenant_a):
        passkeys.registration_options(owner_a, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError):
            passkeys.register(owner_a, payload, rp_id=RP, origin=ORIGIN)
        _register(owner_a, device)
        passkeys.authentication_options(owner_a, rp_id=RP)
        with pytest.raises(passkeys.PasskeyError):
            passkeys.authenticate(owner_a, payload, rp_id=RP, origin=ORIGIN)
        assert PasskeyCredential.objects.count() == 1


def test_passkeys_over_the_api(tenant_a, viewer_a):
    from tests.personas import api_as

    api = api_as(viewer_a, tenant_a)
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


def test_passkeys_users_pass_a_second_factor_before_the_console(tenant_a, owner_a, client):
    import json

    device = SoftAuthenticator("testserver", "http://testserver")
    with tenant_context(tenant_a):
        _options = passkeys.registration_options(owner_a, rp_id="testserver")
        passkeys.register(
            owner_a, device.create(_options), rp_id="testserver", origin="http://testserver"
        )
    client.force_login(owner_a)
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
