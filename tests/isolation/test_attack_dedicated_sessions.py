"""Red team, sessions and MFA of dedicated tenants (tenancy.db.atomic, the session fast
path, `dedicated_tenant_ids` in the cross-tenant visits). Tenant B's member — sam, a
user of both, or B's owner — holds a session or a factor in B and tries to use it in
A, to reach A's rows, or to make its rows land in A's database; in both layouts: A on a
database of its own with B pooled, and A and B sharing one dedicated database."""

import time

import pytest

from security_mgr import mfa, totp
from security_mgr.models import BackupCode, TOTPDevice
from sessions_mgr import actions as session_actions
from sessions_mgr.models import Session
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy import db as tenant_db
from tenancy.context import platform_access, tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["a-alone", "shared"])
def layout(request, dedicate, tenant_alpha, tenant_beta, member_of_both):
    """(A's alias, B's alias, whether they are one database under two aliases)."""
    alias = dedicate(tenant_alpha)
    shared = request.param == "shared"
    if shared:
        dedicate(tenant_beta, share=alias)
    return alias, tenant_db.alias_for(tenant_beta), shared


def _rows(model, alias, tenant) -> int:
    with platform_access("test: where the rows landed"):
        return model.objects.using(alias).filter(tenant_id=tenant.pk).count()


def test_attack_dedicated_sessions_b_token_is_no_a_session(
    layout, tenant_alpha, tenant_beta, member_of_both
):
    a_alias, b_alias, shared = layout
    b_session, b_token = session_actions.do_create_session(
        tenant_id=tenant_beta.pk, user_id=member_of_both.pk
    )
    assert b_session._state.db == b_alias
    assert validate(b_token, tenant_id=tenant_beta.pk).user_id == member_of_both.pk  # control
    with pytest.raises(TokenError):
        validate(b_token, tenant_id=tenant_alpha.pk)
    a_session, _a_token = session_actions.do_create_session(
        tenant_id=tenant_alpha.pk, user_id=member_of_both.pk
    )
    with tenant_context(tenant_beta):
        assert not Session.objects.filter(pk=a_session.pk).exists()
        assert session_actions.do_revoke_session(a_session.pk) is False
        with pytest.raises(Exception):  # noqa: B017 (not found, whichever error names it)
            session_actions.do_refresh_session(a_session.pk)
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=a_session.pk).revoked_at is None
        assert not Session.objects.filter(pk=b_session.pk).exists()
    if not shared:  # B's rows never land in A's database
        assert _rows(Session, a_alias, tenant_beta) == 0
    assert _rows(Session, "default", tenant_alpha) == 0


def test_attack_dedicated_mfa_b_factor_does_not_count_in_a(
    layout, tenant_alpha, tenant_beta, member_of_both
):
    a_alias, b_alias, shared = layout
    with tenant_context(tenant_beta):
        device, _uri = mfa.enroll_totp(member_of_both)
        assert device._state.db == b_alias
        code = totp.hotp(totp._key(device.secret), int(time.time()) // 30)
        assert mfa.confirm_totp(device.pk, code)
        codes = mfa.generate_backup_codes(member_of_both, count=2)
        assert mfa.has_mfa(member_of_both)  # control
    with tenant_context(tenant_alpha):
        assert not mfa.has_mfa(member_of_both)
        assert not TOTPDevice.objects.filter(pk=device.pk).exists()
        with pytest.raises(TOTPDevice.DoesNotExist):  # as for an id nobody has
            mfa.confirm_totp(device.pk, code)
        assert mfa.use_backup_code(member_of_both, codes[0]) is False
    with tenant_context(tenant_beta):
        assert mfa.use_backup_code(member_of_both, codes[0])  # still unused in B
    if not shared:
        assert _rows(TOTPDevice, a_alias, tenant_beta) == 0
        assert _rows(BackupCode, a_alias, tenant_beta) == 0
    enrolled = mfa._read_enrolled_tenants(member_of_both)
    assert enrolled == [tenant_beta.pk]


def test_attack_dedicated_sessions_deleting_b_user_leaves_a_users_sessions(
    layout, tenant_alpha, tenant_beta, member_of_both, alpha_owner, beta_owner
):
    kept, _ = session_actions.do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    session_actions.do_create_session(tenant_id=tenant_beta.pk, user_id=beta_owner.pk)
    assert session_actions.do_delete_sessions_of_user(beta_owner.pk) == 1
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=kept.pk).revoked_at is None
