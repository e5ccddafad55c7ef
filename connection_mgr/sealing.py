"""Connection URLs sealed at rest: a dedicated database's URLs carry its password, and
`connection_mgr_tenantdatabase` is a platform table the runtime role reads (the router
needs it before any tenant's database is chosen). `SealedURLField` stores
`sealed:v1:<base64 envelope>` through `tenancy.hooks.seal_platform_secret` (the
security feature: the master key provider) and gives the plain URL back on every read
(`from_db_value`, so querysets, `values_list` and instances alike); an older row still
holding a plain URL reads as it is until it is saved again (migration 0002 seals them).

Envelopes are bound to the column (the associated data), so a sealed owner URL copied
into the runtime URL column does not open. Sealing is randomised: never filter on it."""

from __future__ import annotations

import base64

from django.db import models

from tenancy import hooks

PREFIX = "sealed:v1:"


def seal(value: str, column: str) -> str:
    if not value or value.startswith(PREFIX):
        return value or ""
    envelope = hooks.seal_platform_secret.call(value.encode(), _aad(column))
    return PREFIX + base64.b64encode(envelope).decode("ascii")


def open_(value: str | None, column: str) -> str:
    if not value or not value.startswith(PREFIX):
        return value or ""
    envelope = base64.b64decode(value[len(PREFIX) :])
    return hooks.open_platform_secret.call(envelope, _aad(column)).decode()


def _aad(column: str) -> bytes:
    return f"connection_mgr.tenantdatabase.{column}".encode()


class SealedURLField(models.TextField):
    def from_db_value(self, value, expression, connection):
        return open_(value, self.column)

    def get_prep_value(self, value):
        return seal(super().get_prep_value(value) or "", self.column)
