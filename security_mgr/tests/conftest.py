import pytest


@pytest.fixture
def passkey_in(console):
    """enrol(user, tenant) -> the browser credential of a passkey registered for the
    user in the tenant (through `passkeys.register`), for `console.add_authenticator`."""
    from cryptography.hazmat.primitives import serialization
    from selenium.webdriver.common.virtual_authenticator import Credential

    from security_mgr import passkeys
    from security_mgr.tests.soft_authenticator import SoftAuthenticator
    from tenancy.context import tenant_context

    def enrol(user, tenant):
        device = SoftAuthenticator("localhost", console.url)
        with tenant_context(tenant):
            options = passkeys.registration_options(user, rp_id="localhost")
            passkeys.register(user, device.create(options), rp_id="localhost", origin=console.url)
        key = device.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return Credential.create_resident_credential(
            device.credential_id, "localhost", str(user.pk).encode(), key, 0
        )

    return enrol
