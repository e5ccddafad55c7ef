"""A tenant whose rows link to a user (issue 17): a session, a confirmed TOTP device,
backup codes and an admin log entry, for the move tests of both backends. The user is a
platform row of the default database only; after each move the user must still sign in
with the old session and a new one, and pass MFA (a TOTP code, a backup code)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.auth import authenticate, get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from security_mgr import mfa, totp
from security_mgr.models import BackupCode, TOTPDevice
from sessions_mgr import actions as session_actions
from sessions_mgr.models import Session
from sessions_mgr.validation import validate
from tenancy.context import platform_access, tenant_context
from tenancy.models import AdminLogEntry, Membership, Role
from tests.scoping_app.models import Folder

PASSWORD = "mover-password-1"
_steps = itertools.count(2)  # each verification uses a later TOTP step (no replay)


def seed(tenant) -> dict:
    user = get_user_model().objects.create_user(username=f"mover-{tenant.pk}", password=PASSWORD)
    with tenant_context(tenant):
        Membership.objects.create(user=user, tenant=tenant, role=Role.OWNER)
        device, _uri = mfa.enroll_totp(user)
        assert mfa.confirm_totp(device.pk, _code(device, timezone.now()))
        codes = mfa.generate_backup_codes(user, count=4)
        AdminLogEntry.objects.create(
            user=user,
            content_type=ContentType.objects.get_for_model(Folder),
            object_id="1",
            object_repr="folder 1",
            action_flag=1,
        )
    _session, token = session_actions.do_create_session(tenant_id=tenant.pk, user_id=user.pk)
    return {"user": user, "token": token, "codes": codes}


def _code(device, now: dt.datetime) -> str:
    return totp.hotp(totp._key(device.secret), int(now.timestamp()) // 30)


def rows(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {
            model._meta.label: model.objects.count()
            for model in (Session, TOTPDevice, BackupCode, AdminLogEntry)
        }


def assert_signs_in_and_passes_mfa(tenant, seeded: dict, alias: str) -> None:
    user, codes = seeded["user"], seeded["codes"]
    assert validate(seeded["token"], tenant_id=tenant.pk).user_id == user.pk  # old session
    assert authenticate(username=user.get_username(), password=PASSWORD) == user
    _session, token = session_actions.do_create_session(tenant_id=tenant.pk, user_id=user.pk)
    assert validate(token, tenant_id=tenant.pk).user_id == user.pk
    with tenant_context(tenant):
        device = TOTPDevice.objects.get(user=user)
        assert device._state.db == alias and device.user == user  # the user: from default
        assert mfa.has_mfa(user)
        later = timezone.now() + dt.timedelta(seconds=30 * next(_steps))
        assert mfa.verify_totp(user, _code(device, later), now=later)
        assert mfa.use_backup_code(user, codes.pop())
        entry = AdminLogEntry.objects.get(user_id=user.pk)
        assert entry.user == user and entry.content_type.model_class() is Folder


def remove(seeded: dict) -> None:
    with platform_access("test: remove the mover"):
        get_user_model().objects.filter(pk=seeded["user"].pk).delete()
