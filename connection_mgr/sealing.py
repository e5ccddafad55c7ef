"""Connection URLs sealed at rest: a dedicated database's URLs carry its password, and
`connection_mgr_tenantdatabase` is a platform table the runtime role reads (the router
needs it before any tenant's database is chosen). `SealedURLField` stores
`sealed:v1:<base64 envelope>` through `tenancy.hooks.seal_platform_secret` (the
security feature: the master key provider) and gives the plain URL back on every read
(`from_db_value`, so querysets, `values_list` and instances alike).

A stored value without the prefix is refused on read (`UnsealedValue`), on every
database (the embedded default seals too: the master key provider is the same): who
can write the column must not pick a URL without the master key. Writing always seals;
migration 0002 sealed the rows of older versions, reading the column raw. The router
reads the column raw too and refuses a bad row for its tenant alone (aliases.refresh).

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


class UnsealedValue(ValueError):
    """A stored URL without the sealed prefix: refused, never used as it is."""


def open_(value: str | None, column: str) -> str:
    if not value:
        return ""
    if not value.startswith(PREFIX):
        raise UnsealedValue(
            f"connection_mgr.tenantdatabase.{column} holds a value that is not sealed: "
            "refused (only the application writes this column, always sealed; a plain "
            "value was written around it)"
        )
    envelope = base64.b64decode(value[len(PREFIX) :])
    return hooks.open_platform_secret.call(envelope, _aad(column)).decode()


def _aad(column: str) -> bytes:
    return f"connection_mgr.tenantdatabase.{column}".encode()


class SealedURLField(models.TextField):
    def from_db_value(self, value, expression, connection):
        return open_(value, self.column)

    def get_prep_value(self, value):
        return seal(super().get_prep_value(value) or "", self.column)
