"""A user's authenticator app, for tests of every app: enrol a TOTP device the way a user
does (scan the provisioning URI, confirm with a code) and read the codes it shows.

Codes come from pyotp reading the otpauth:// URI, not from `security_mgr.totp`: a bug
in our RFC 6238 code then fails the tests instead of agreeing with itself.
"""

from __future__ import annotations

import datetime as dt

import pyotp
from django.utils import timezone

from security_mgr import mfa
from security_mgr.models import TOTPDevice
from tenancy.context import tenant_context


def totp_code(device: TOTPDevice, moment: dt.datetime | None = None) -> str:
    """The code `device` shows at `moment` (default: now)."""
    return pyotp.TOTP(device.secret).at(moment or timezone.now())


class Enrolment:
    """A user's confirmed authenticator in one tenant, confirmed with the previous
    step's code so that the current one is still unused; with `backup_codes`, a set of
    backup codes as well."""

    def __init__(self, user, tenant, *, backup_codes: bool = False, name: str = "phone"):
        self.user, self.tenant = user, tenant
        self.backup_codes: list[str] = []
        earlier = timezone.now() - dt.timedelta(seconds=30)
        with tenant_context(tenant):
            device, uri = mfa.enroll_totp(user, name=name)
            self.app = pyotp.parse_uri(uri)
            self.device = TOTPDevice.objects.get(pk=device.pk)
            assert mfa.confirm_totp(device.pk, self.app.at(earlier), now=earlier)
            if backup_codes:
                self.backup_codes = mfa.generate_backup_codes(user)

    def totp(self, moment: dt.datetime | None = None) -> str:
        """The code the app shows at `moment` (default: now)."""
        return self.app.at(moment or timezone.now())

    def wrong_totp(self) -> str:
        """A well-formed code that is not the current one."""
        return "000000" if self.totp() != "000000" else "111111"

    def backup(self) -> str:
        """A fresh backup code (each is good once)."""
        return self.backup_codes.pop()
