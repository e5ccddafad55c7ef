"""The seed's session example (shared/seeds, "Session Manager"), run as written."""

import pytest

from sessions_mgr.actions import SessionError
from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def enterprise(db, django_user_model):
    tenant = Tenant.objects.create(slug="enterprise-tenant", name="Enterprise")
    user = django_user_model.objects.create_user(username="admin_user", password="x" * 12)
    with tenant_context(tenant):  # memberships are written in their tenant's context
        Membership.objects.create(user=user, tenant=tenant, role=Role.ADMIN)
    return tenant, user


async def seed_example(enrolment):
    """Verbatim from the seed, plus checks. The quantum level requires MFA: the seed
    passes no code, so its session awaits step-up until the user's code is given."""
    from managers import SecurityLevel, SessionManagerFactory, SessionType

    manager = SessionManagerFactory.create_production_manager()
    await manager.initialize()

    session_id, token = await manager.create_session(
        tenant_id="enterprise_tenant",
        user_id="admin_user",
        session_type=SessionType.ADMIN,
        security_level=SecurityLevel.QUANTUM,
    )

    from sessions_mgr.tokens import TokenError

    with pytest.raises(TokenError) as refused:
        await manager.validate_session(token, tenant_id="enterprise-tenant")
    assert refused.value.reason == "step_up_required"
    assert await manager.complete_step_up(session_id, enrolment.totp())

    analytics = await manager.get_session_analytics(session_id)
    # The seed prints the score here; the test checks what it would show.
    assert 0.0 <= analytics["anomaly_score"] <= 1.0
    assert analytics["session_id"] == session_id
    checked = await manager.validate_session(token, tenant_id="enterprise-tenant")
    assert checked.level == "quantum" and checked.session_type == "admin"


def test_facade_seed_example_runs_as_written(enterprise):
    # Driven by async_to_sync so that the manager's sync_to_async calls run on this
    # thread, inside the test's transaction (an async test would get another
    # connection, which cannot see the uncommitted fixtures).
    from asgiref.sync import async_to_sync

    from tests.authenticator import Enrolment

    async_to_sync(seed_example)(Enrolment(enterprise[1], enterprise[0]))


def test_facade_sync_twins_and_ids(enterprise):
    from managers import SessionManager

    tenant, user = enterprise
    manager = SessionManager()
    session_id, token = manager.create_session_sync(tenant.pk, user.pk)
    assert manager.validate_session_sync(token).session_id == session_id
    assert [s["id"] for s in manager.list_sessions_sync(tenant.slug, user.username)] == [session_id]
    new = manager.refresh_session_sync(session_id)
    assert manager.validate_session_sync(new).session_id == session_id
    assert manager.revoke_user_sessions_sync(tenant.pk, "admin_user") == 1


@pytest.mark.parametrize(
    "tenant_ref,user_ref,code",
    [
        ("nope", "admin_user", "unknown_tenant"),
        ("enterprise-tenant", "ghost", "unknown_user"),
        (2**70, "admin_user", "unknown_tenant"),
        ("enterprise-tenant", 2**70, "unknown_user"),
    ],
)
def test_facade_unknown_tenant_or_user_is_4xx(enterprise, tenant_ref, user_ref, code):
    from managers import SessionManager

    with pytest.raises(SessionError) as exc:
        SessionManager().create_session_sync(tenant_ref, user_ref)
    assert exc.value.code == code and 400 <= exc.value.status < 500


def test_facade_non_member_is_403(enterprise, alpha_owner):
    from managers import SessionManager

    with pytest.raises(SessionError) as exc:
        SessionManager().create_session_sync("enterprise-tenant", alpha_owner.username)
    assert exc.value.status == 403
