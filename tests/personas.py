"""Fixed personas, the same in every test.

Two tenants holding overlapping data (the same setting keys, folder names and document
titles, see `overlapping_settings` and tests/isolation/checks.py), each with an owner, an
admin and a viewer, plus a user of both and the platform operator:

| fixture          | user  | tenant and role            |
|------------------|-------|----------------------------|
| `tenant_alpha`   |       | "alpha", enterprise tier   |
| `tenant_beta`    |       | "beta", standard tier      |
| `alpha_owner`    | alice | alpha owner (staff)        |
| `alpha_admin`    | adam  | alpha admin (staff)        |
| `alpha_viewer`   | victor| alpha viewer               |
| `beta_owner`     | bob   | beta owner (staff)         |
| `beta_admin`     | bea   | beta admin (staff)         |
| `beta_viewer`    | vera  | beta viewer                |
| `member_of_both` | sam   | admin in alpha and in beta |
| `superuser`      | root  | platform operator          |

Every persona signs in with PASSWORD; `api_as(user, tenant)` gives an API client."""

from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tenancy import context
from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant, TenantSetting

PASSWORD = "persona-password-1"


def _user(username, **flags):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **flags)
    return user


def _member(user, tenant, role):
    # The database accepts a membership of a tenant only in that tenant's context.
    with tenant_context(tenant):
        return Membership.objects.create(user=user, tenant=tenant, role=role)


@contextmanager
def as_platform():
    """The fixtures act as the platform operator (who makes superusers) without the
    audited escape hatch, so no test finds their records in the platform audit log."""
    token = context.activate(context.PlatformAccess("test personas"))
    try:
        yield
    finally:
        context.deactivate(token)


@pytest.fixture
def tenant_alpha(db):
    return Tenant.objects.create(slug="alpha", name="Alpha Ltd", tier="enterprise")


@pytest.fixture
def tenant_beta(db):
    return Tenant.objects.create(slug="beta", name="Beta GmbH", tier="standard")


@pytest.fixture
def alpha_owner(tenant_alpha):
    user = _user("alice", is_staff=True)
    _member(user, tenant_alpha, Role.OWNER)
    return user


@pytest.fixture
def beta_owner(tenant_beta):
    user = _user("bob", is_staff=True)
    _member(user, tenant_beta, Role.OWNER)
    return user


@pytest.fixture
def alpha_viewer(tenant_alpha):
    user = _user("victor")
    _member(user, tenant_alpha, Role.VIEWER)
    return user


@pytest.fixture
def alpha_admin(tenant_alpha):
    user = _user("adam", is_staff=True)
    _member(user, tenant_alpha, Role.ADMIN)
    return user


@pytest.fixture
def beta_admin(tenant_beta):
    user = _user("bea", is_staff=True)
    _member(user, tenant_beta, Role.ADMIN)
    return user


@pytest.fixture
def beta_viewer(tenant_beta):
    user = _user("vera")
    _member(user, tenant_beta, Role.VIEWER)
    return user


@pytest.fixture
def member_of_both(tenant_alpha, tenant_beta):
    user = _user("sam", is_staff=True)
    _member(user, tenant_alpha, Role.ADMIN)
    _member(user, tenant_beta, Role.ADMIN)
    return user


@pytest.fixture
def superuser(db):
    with as_platform():
        return _user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def overlapping_settings(tenant_alpha, tenant_beta):
    """The same key in both tenants, with different values."""
    with tenant_context(tenant_alpha):
        a = TenantSetting.objects.create(key="session.policy", value={"level": "high"})
    with tenant_context(tenant_beta):
        b = TenantSetting.objects.create(key="session.policy", value={"level": "critical"})
    return a, b


@pytest.fixture
def api():
    return APIClient()


def api_as(user, tenant=None):
    client = APIClient()
    client.login(username=user.get_username(), password=PASSWORD)
    if tenant is not None:
        client.credentials(HTTP_X_TENANT=tenant.slug)
    return client


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Every test starts from an empty shared cache and empty process state. Tenant ids
    repeat across runs (the test database is recreated) and the Redis test database
    outlives them; on SQLite tenant and user ids repeat across tests (rolled-back
    sequences). So a key ring, session, policy or membership cached by an earlier test
    must not stand in for this test's: every module registers its process state in
    `tenancy.resettable`, emptied here (the one fixture that does)."""
    from django.core.cache import cache
    from django.utils import translation

    from tenancy import resettable

    cache.clear()
    resettable.reset_all()
    # The language a request activated stays active in its thread (LocaleMiddleware sets
    # it per request, never resets it): each test starts in English.
    translation.deactivate()


def audit_entries(tenant=None, event=None) -> list:
    """The audit entries of `tenant`'s log (the platform log when None), after sequencing
    what is pending: inside a test's transaction nothing commits, so appends stay queued
    until someone runs the sequencer, as its task does (the API's GETs never do)."""
    import audit_mgr as audit

    if tenant is None:
        log = audit.platform_log()
        audit.sequence_pending(log)
        entries = log.entries()
        return list(entries.filter(event=event) if event else entries)
    with tenant_context(tenant):
        log = audit.tenant_log(tenant.pk)
        audit.sequence_pending(log)
        entries = log.entries()
        return list(entries.filter(event=event) if event else entries)
