"""The console's second factor in a real browser: headless Chromium with Chrome's
virtual authenticator (CTAP2, internal transport, resident keys, user verification)
against the console served over HTTP. Every test ends by failing on any error in the
browser console (JavaScript exceptions, failed loads) it did not expect."""

import pytest

from security_mgr.models import BackupCode, PasskeyCredential
from tenancy.context import tenant_context
from tenancy.models import Membership
from tests.authenticator import Enrolment
from tests.personas import PASSWORD, audit_entries

pytestmark = pytest.mark.django_db

ADMIN_HOME = "Tenancy and isolation"  # the admin index's app list (the sidebar says "Tenants")
EXPECTED_400 = ("status of 400",)  # the endpoints' answers to a refused passkey


def _events(tenant, event):
    return len(audit_entries(tenant, event))


def _on_the_step(console):
    assert console.path().startswith("/console/mfa/"), console.path()
    assert "Second factor" in console.text("h1")


def _expect_the_step(console, path="/admin/"):
    """Opening `path` lands on the step: the session has not passed it."""
    console.open(path)
    console.wait_for_path("/console/mfa/")


def test_browser_passkey_enrolment_then_a_new_session_passes_with_it(
    console, alpha_owner, tenant_alpha, tenant_beta
):
    console.add_authenticator()
    console.login("alice", PASSWORD)
    console.wait_for_path("/admin/")  # not enrolled yet: straight in

    console.open("/console/passkeys/")
    assert console.text("#passkey-tenant") == "alpha"
    name = console.find("#passkey-name")
    name.clear()
    name.send_keys("laptop")
    console.find("#register-passkey-button").click()
    console.wait(lambda d: console.text("#passkey-list tbody").startswith("laptop"), "no row")
    assert "yes" in console.text("#passkey-list tbody")  # user verified

    with console.lock:
        with tenant_context(tenant_alpha):
            passkey = PasskeyCredential.objects.get(user=alpha_owner)
        with tenant_context(tenant_beta):
            assert not PasskeyCredential.objects.filter(user=alpha_owner).exists()
        assert passkey.name == "laptop" and passkey.user_verified is True
        assert _events(tenant_alpha, "mfa.passkey_registered") == 1
    [held] = console.credentials()
    assert held.rp_id == "localhost" and held.is_resident_credential
    assert bytes(passkey.credential_id) == held._id
    console.open("/admin/")  # registering proved the factor: no detour through the step
    assert ADMIN_HOME in console.text()

    console.logout()
    console.login("alice", PASSWORD)
    console.wait_for_path("/console/mfa/")
    _on_the_step(console)
    assert console.path() == "/console/mfa/?next=%2Fadmin%2F"
    console.find("#use-passkey").click()
    console.wait_for_path("/admin/")
    assert ADMIN_HOME in console.text() and "Data Isolation Managers" in console.text()
    with console.lock:
        with tenant_context(tenant_alpha):
            passkey.refresh_from_db()
        assert passkey.sign_count >= 1 and passkey.last_used_at is not None
        assert _events(tenant_alpha, "mfa.passkey_verified") == 1
    console.open("/")  # the console home opens too, once per session
    assert console.path() == "/" and "Operations home" in console.text("h1")
    console.assert_no_js_errors()


@pytest.mark.parametrize("device", ["fresh authenticator", "no user verification"])
def test_browser_passkey_refused_stays_on_the_step(
    console, passkey_in, alpha_owner, tenant_alpha, device
):
    credential = passkey_in(alpha_owner, tenant_alpha)
    if device == "fresh authenticator":
        console.add_authenticator()  # holds no credential of alice
    else:
        console.add_authenticator(user_verified=False, credentials=[credential])
    console.login("alice", PASSWORD)
    console.wait_for_path("/console/mfa/")

    console.find("#use-passkey").click()
    message = console.visible_text("#passkey-error")
    assert message.startswith("No passkey was used"), message
    _on_the_step(console)
    assert console.find("#use-passkey").is_enabled()  # the person may try again
    _expect_the_step(console)
    _expect_the_step(console, "/console/security/")
    with console.lock:
        assert _events(tenant_alpha, "mfa.passkey_verified") == 0
    console.assert_no_js_errors()


def test_browser_totp_code_at_the_step(console, alpha_owner, tenant_alpha):
    app = Enrolment(alpha_owner, tenant_alpha)
    console.login("alice", PASSWORD, next_path="/admin/tenancy/tenantsetting/")
    console.wait_for_path("/console/mfa/")

    console.find("#code").send_keys(app.wrong_totp())
    console.find("#code-form [type=submit]").click()
    assert "not valid" in console.visible_text("#code-error")
    _on_the_step(console)

    console.find("#code").send_keys("12ab")  # malformed: a 400 page that says why
    console.find("#code-form [type=submit]").click()
    assert console.visible_text("#code-error").startswith("Invalid code:")

    console.find("#code").send_keys(app.totp())
    console.find("#code-form [type=submit]").click()
    console.wait_for_path("/admin/tenancy/tenantsetting/")
    assert "tenant setting" in console.text().lower()
    with console.lock:
        assert _events(tenant_alpha, "mfa.verified") == 1
        assert _events(tenant_alpha, "mfa.totp_failed") >= 1
    console.assert_no_js_errors(allow=("status of 400",))  # the malformed code's page


def test_browser_enrolled_user_is_asked_whatever_tenant_the_console_acts_in(
    console, passkey_in, member_of_both, tenant_alpha, tenant_beta
):
    """Regression: a passkey in alpha did not protect the console acting in beta (the
    check only looked at the tenant in context), so `?tenant=beta` skipped the step."""
    console.add_authenticator(credentials=[passkey_in(member_of_both, tenant_alpha)])
    console.login("sam", PASSWORD, next_path="/admin/?tenant=beta")
    console.wait_for_path("/console/mfa/")
    _expect_the_step(console, "/?tenant=beta")
    _expect_the_step(console, "/console/security/?tenant=beta")

    console.open("/console/mfa/?next=%2Fadmin%2F%3Ftenant%3Dbeta")
    console.find("#use-passkey").click()
    console.wait_for_path("/admin/")
    assert console.path() == "/admin/?tenant=beta" and ADMIN_HOME in console.text()
    with console.lock:
        # The passkey is alpha's row: verified in alpha's context, audited in its log.
        assert _events(tenant_alpha, "mfa.passkey_verified") == 1
        assert _events(tenant_beta, "mfa.passkey_verified") == 0
    console.assert_no_js_errors()


def test_browser_another_users_passkey_from_another_tenant_is_refused(
    console, passkey_in, alpha_owner, beta_owner, tenant_alpha, tenant_beta
):
    alice = passkey_in(alpha_owner, tenant_alpha)
    passkey_in(beta_owner, tenant_beta)  # bob is enrolled in beta, with a device not here
    console.add_authenticator(credentials=[alice])
    console.login("bob", PASSWORD)
    console.wait_for_path("/console/mfa/")

    console.find("#use-passkey").click()  # bob's options name bob's passkey only
    assert console.visible_text("#passkey-error").startswith("No passkey was used")

    # The page is made to offer alice's passkey for bob's challenge (as a tampered page
    # or a hostile extension could): the authenticator signs, the server refuses.
    console.driver.execute_script(
        """
        const aliceId = Uint8Array.from(
          atob(arguments[0].replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
        const get = navigator.credentials.get.bind(navigator.credentials);
        navigator.credentials.get = (request) => {
          request.publicKey.allowCredentials = [{type: "public-key", id: aliceId}];
          return get(request);
        };
        """,
        alice.id,
    )
    console.find("#use-passkey").click()
    console.wait(lambda d: "unknown passkey" in console.text("#passkey-error"), "not refused")
    assert console.text("#passkey-error") == "unknown passkey for this user"
    [held] = console.credentials()
    assert held.sign_count == 1  # the authenticator did sign
    _on_the_step(console)
    _expect_the_step(console)
    with console.lock:
        for tenant in (tenant_alpha, tenant_beta):
            assert _events(tenant, "mfa.passkey_verified") == 0
    console.assert_no_js_errors(allow=EXPECTED_400)


def test_browser_passkey_counts_only_while_the_user_belongs_to_its_tenant(
    console, passkey_in, member_of_both, tenant_alpha, tenant_beta
):
    console.add_authenticator(credentials=[passkey_in(member_of_both, tenant_alpha)])
    app = Enrolment(member_of_both, tenant_beta)
    with console.lock, tenant_context(tenant_alpha):  # memberships: in their tenant's context
        Membership.objects.filter(user=member_of_both, tenant=tenant_alpha).delete()
    console.login("sam", PASSWORD)
    console.wait_for_path("/console/mfa/")  # beta's authenticator still asks

    console.find("#use-passkey").click()
    message = console.visible_text("#passkey-error")
    assert message.startswith("You have no passkey"), message  # alpha's no longer counts
    _on_the_step(console)
    console.find("#code").send_keys(app.totp())
    console.find("#code-form [type=submit]").click()
    console.wait_for_path("/admin/")
    with console.lock:
        assert _events(tenant_alpha, "mfa.passkey_verified") == 0
    console.assert_no_js_errors(allow=EXPECTED_400)


def test_browser_passkey_needs_a_host_name(console, passkey_in, alpha_owner, tenant_alpha):
    """Regression: opened at http://127.0.0.1:<port>/ (what `make run` used to print)
    the button failed with the browser's bare "SecurityError: invalid domain"."""
    console.add_authenticator(credentials=[passkey_in(alpha_owner, tenant_alpha)])
    by_ip = f"http://127.0.0.1:{console.live.port}"
    console.open("/admin/login/?next=/admin/", base=by_ip)
    console.find("#id_username").send_keys("alice")
    console.find("#id_password").send_keys(PASSWORD)
    console.find("#login-form [type=submit]").click()
    console.wait_for_path("/console/mfa/")

    console.find("#use-passkey").click()
    message = console.visible_text("#passkey-error")
    assert "host name" in message and f"http://localhost:{console.live.port}/" in message
    _on_the_step(console)
    console.assert_no_js_errors(allow=EXPECTED_400)


def test_browser_password_alone_cannot_add_a_factor(console, alpha_owner, tenant_alpha):
    """Regression: at the step (password only) the page could enrol a new passkey or
    fetch fresh backup codes through the API, then pass the step with them."""
    Enrolment(alpha_owner, tenant_alpha)
    console.add_authenticator()
    console.login("alice", PASSWORD)
    console.wait_for_path("/console/mfa/")

    base = "/api/v1/security/mfa"
    for path in (f"{base}/passkeys/register/options/", f"{base}/backup-codes/", f"{base}/totp/"):
        answer = console.post_json(path, {"name": "mine"} if path.endswith("totp/") else None)
        assert answer["status"] == 403, (path, answer)
        assert answer["json"]["error"]["code"] == "mfa_required"
    _expect_the_step(console, "/console/passkeys/")
    with console.lock:
        with tenant_context(tenant_alpha):
            assert not PasskeyCredential.objects.exists()
            assert not BackupCode.objects.exists()
    console.assert_no_js_errors(allow=("status of 403",))


def test_browser_console_errors_fail_the_tests(console):
    """The harness's own check: a script error on a page is seen, an expected one is not."""
    console.open("/admin/login/")
    console.driver.execute_script(
        "setTimeout(() => { throw new Error('boom from the page'); });"
        "Promise.reject(new Error('rejected on the page'));"
    )
    errors = []
    console.wait(lambda d: errors.extend(console.js_errors()) or len(errors) >= 2)
    assert any("boom from the page" in e for e in errors)
    assert any("rejected on the page" in e for e in errors)
    console.driver.execute_script("console.error('expected noise')")
    assert console.js_errors(allow=("expected noise",)) == []
