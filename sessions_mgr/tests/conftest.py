import pytest

from sessions_mgr import authentication, keys, policy
from sessions_mgr.actions import do_create_session
from sessions_mgr.fastpath import reset_view
from tests.authenticator import Enrolment
from tests.personas import PASSWORD  # noqa: F401  (re-exported for tests)


@pytest.fixture(autouse=True)
def _fresh_session_state():
    """Ids repeat across test databases: every test starts from empty process caches."""
    view = reset_view()
    policy.forget()
    keys.forget_state()
    authentication._slug_ids.clear()
    yield view
    reset_view()


@pytest.fixture
def view(_fresh_session_state, monkeypatch):
    """The view as a subscribed, resynced listener leaves it: trusted (fast path). So is
    tenancy's membership copy, whose listener a Redis deployment runs alongside."""
    from tenancy import membership_cache

    monkeypatch.setattr(membership_cache.listener, "healthy", True)
    monkeypatch.setattr(membership_cache.listener, "start", lambda: True)
    _fresh_session_state.healthy = True
    return _fresh_session_state


@pytest.fixture
def degraded_view(_fresh_session_state):
    _fresh_session_state.healthy = False
    return _fresh_session_state


@pytest.fixture
def make_session(tenant_a, owner_a):
    def make(tenant=None, user=None, **kwargs):
        tenant = tenant or tenant_a
        user = user or owner_a
        return do_create_session(tenant_id=tenant.pk, user_id=user.pk, **kwargs)

    return make


@pytest.fixture
def mfa_a(owner_a, tenant_a):
    """owner_a enrolled in MFA in tenant_a (critical and quantum sessions need it)."""
    return Enrolment(owner_a, tenant_a, backup_codes=True)
