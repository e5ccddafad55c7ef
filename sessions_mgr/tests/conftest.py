import pytest

from sessions_mgr.actions import do_create_session
from sessions_mgr.fastpath import get_view
from tests.authenticator import Enrolment
from tests.personas import PASSWORD  # noqa: F401  (re-exported for tests)


@pytest.fixture
def view(monkeypatch):
    """The view as a subscribed, resynced listener leaves it: trusted (fast path). So is
    tenancy's membership copy, whose listener a Redis deployment runs alongside."""
    from tenancy import membership_cache

    monkeypatch.setattr(membership_cache.listener, "healthy", True)
    monkeypatch.setattr(membership_cache.listener, "start", lambda: True)
    view = get_view()  # emptied before each test (tests/personas.py)
    view.healthy = True
    return view


@pytest.fixture
def degraded_view():
    view = get_view()
    view.healthy = False
    return view


@pytest.fixture
def make_session(tenant_alpha, alpha_owner):
    def make(tenant=None, user=None, **kwargs):
        tenant = tenant or tenant_alpha
        user = user or alpha_owner
        return do_create_session(tenant_id=tenant.pk, user_id=user.pk, **kwargs)

    return make


@pytest.fixture
def alpha_owner_mfa(alpha_owner, tenant_alpha):
    """alpha_owner enrolled in MFA in tenant_alpha (critical and quantum sessions need it)."""
    return Enrolment(alpha_owner, tenant_alpha, backup_codes=True)
