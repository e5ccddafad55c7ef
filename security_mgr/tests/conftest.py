import pytest

from security_mgr import keyring, threats


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Tenant ids repeat across tests on SQLite (rolled-back sequences): start clean."""
    keyring.reset()
    threats.forget_policies()
    yield
    keyring.reset()
    threats.forget_policies()
