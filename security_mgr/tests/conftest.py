import pytest

from security_mgr import keyring


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Tenant ids repeat across tests on SQLite (rolled-back sequences): start clean."""
    keyring.forget()
    yield
    keyring.forget()
