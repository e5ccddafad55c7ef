"""PostgreSQL backend that keeps `app.tenant_id` (and the role) right on every query.

RLS policies read `current_setting('app.tenant_id', true)`. The value must match the
tenant context of the code that runs the query, on every query, whatever happened to the
connection before: persistent connections, Django's pool, rollbacks and savepoint
rollbacks (which silently revert a `set_config` made inside them), and requests and
Celery tasks that reuse one connection.

Before each `execute()` of a statement that names a tenant-scoped table, the cursor
compares what the context wants with what the physical connection is known to carry
(remembered on the psycopg connection object, so a pooled connection carries its own
state) and only then sends one `SELECT set_config(...)`. Rollbacks forget the
remembered state, so the next such statement re-sends it.

Statements that name no scoped table (sessions, users, memberships, tenants) cannot be
affected by RLS policies, so they do not move the setting: a request that authenticates
before its tenant is known does not reset the connection only to set it again. Cost:
zero round trips when the connection already carries the right tenant, one otherwise.
SQL that reaches scoped tables only through a view or function must call
`connection.ensure_tenant_setting()` itself first.
"""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.db.backends.postgresql import base as pg_base
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from psycopg.pq import TransactionStatus

from tenancy.context import PlatformAccess, TenantRef, current_state

_UNKNOWN = object()
_STATE_ATTR = "_dim_tenant_state"
_SET_SQL = "SELECT set_config('app.tenant_id', %s, false), set_config('role', %s, false)"


def desired_state() -> tuple[str, str]:
    state = current_state()
    if isinstance(state, TenantRef):
        return (str(state.id), "none")
    if isinstance(state, PlatformAccess):
        return ("", settings.DB_PLATFORM_ROLE)
    return ("", "none")


@functools.cache
def _scoped_table_pattern() -> re.Pattern:
    from tenancy.models.scoped import scoped_models

    names = sorted((m._meta.db_table for m in scoped_models()), key=len, reverse=True)
    if not names:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile("|".join(re.escape(name) for name in names), re.IGNORECASE)


CACHED_SQL_CHARS = 8192  # longer statements are searched every time, not remembered


def names_scoped_table(sql) -> bool:
    if not isinstance(sql, str):
        sql = str(sql)  # psycopg sql.Composed and friends
    if len(sql) > CACHED_SQL_CHARS:
        return _search(sql)
    return _search_cached(sql)


def _search(sql: str) -> bool:
    return _scoped_table_pattern().search(sql) is not None


# The search tries every table name at every position: 10-30 µs per statement, most of
# it for statements that name no scoped table (the whole string is scanned). The ORM
# sends the same few hundred SQL texts (values travel as parameters) again and again, so
# the answer is remembered per text: the same answer, for a hash and a comparison.
_search_cached = functools.lru_cache(maxsize=4096)(_search)


class _TenantSettingMixin:
    def execute(self, sql, params=None):
        if names_scoped_table(sql):
            self.db.ensure_tenant_setting()
        return super().execute(sql, params)

    def executemany(self, sql, param_list):
        if names_scoped_table(sql):
            self.db.ensure_tenant_setting()
        return super().executemany(sql, param_list)

    def callproc(self, procname, params=None, kparams=None):
        # A procedure may read anything: always send the setting.
        self.db.ensure_tenant_setting()
        return super().callproc(procname, params, kparams)

    # psycopg 3 cursor methods that run SQL and would otherwise reach the driver through
    # CursorWrapper.__getattr__ with whatever setting the connection carried last.
    def copy(self, statement, *args, **kwargs):
        self.db.ensure_tenant_setting()
        parent = getattr(super(), "copy", None)  # CursorDebugWrapper logs copies
        if parent is not None:
            return parent(statement, *args, **kwargs)
        return self.cursor.copy(statement, *args, **kwargs)

    def stream(self, query, params=None, **kwargs):
        self.db.ensure_tenant_setting()
        return self.cursor.stream(query, params, **kwargs)


class TenantCursorWrapper(_TenantSettingMixin, CursorWrapper):
    pass


class TenantCursorDebugWrapper(_TenantSettingMixin, CursorDebugWrapper):
    pass


class DatabaseWrapper(pg_base.DatabaseWrapper):
    # Counts `set_config` round trips; bench/ and the isolation suite read it.
    tenant_setting_round_trips = 0

    def ensure_tenant_setting(self) -> None:
        raw = self.connection
        if raw is None:
            return
        wanted = desired_state()
        if getattr(raw, _STATE_ATTR, _UNKNOWN) == wanted:
            return
        if raw.info.transaction_status == TransactionStatus.INERROR:
            # Only ROLLBACK (TO SAVEPOINT) can run now; it must not be blocked, and
            # the rollback forgets the state so the next statement sets it.
            return
        with raw.cursor() as cursor:
            cursor.execute(_SET_SQL, wanted)
        setattr(raw, _STATE_ATTR, wanted)
        self.tenant_setting_round_trips += 1

    def forget_tenant_setting(self) -> None:
        if self.connection is not None:
            setattr(self.connection, _STATE_ATTR, _UNKNOWN)

    def make_cursor(self, cursor):
        return TenantCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return TenantCursorDebugWrapper(cursor, self)

    def _rollback(self):
        # A rollback reverts every set_config made in the transaction.
        try:
            return super()._rollback()
        finally:
            self.forget_tenant_setting()

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            self.forget_tenant_setting()

    def _close(self):
        raw = self.connection
        if raw is not None and raw.info.transaction_status != TransactionStatus.IDLE:
            # The pool rolls such a connection back, which reverts what we set.
            setattr(raw, _STATE_ATTR, _UNKNOWN)
        return super()._close()
