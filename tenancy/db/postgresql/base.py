"""PostgreSQL backend that makes every statement run with the tenant context's setting.

RLS policies accept a tenant only with a proof (see `tenancy/db/proof.py`): before each
statement, whatever it names, the connection must carry exactly the context's claim —
the tenant, platform access, or nothing — and its proof.

Knowing what the connection carries, exactly. The three settings (`app.tenant_id`,
`app.tenant_proof` and `application_name`) are always set together by one statement,
and `application_name` gets a fresh random token each time. PostgreSQL reports every
change of `application_name` to the client (it is a GUC_REPORT parameter), including
the silent ones: a rollback or savepoint rollback that reverts a `set_config`, the
COMMIT of an aborted transaction, `RESET ALL`, `DISCARD ALL`, a pool's reset, raw SQL
that changes it. So "the server still holds our token" is read from libpq's copy of the
reported value (a C call, no round trip), and the claim that went with the token is
remembered on the psycopg connection (so a pooled connection carries its own). When
the token is not the one we set, the backend cannot know what the connection carries
and sends the setting again. Cost: zero round trips when the connection already
carries the context's claim, one otherwise (plus one per new physical connection to
learn the pid and port the server sees).

SQL that changes `app.tenant_id` or `app.tenant_proof` alone (an attacker's) cannot
make a connection act for another tenant: without the key it cannot produce a valid
proof, and a bad proof matches no row.

Values travel separately from statement texts (server-side binding, set in settings),
so `pg_stat_activity` never shows another session's values or proof.
"""

from __future__ import annotations

import secrets

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base as pg_base
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from psycopg.pq import TransactionStatus

from tenancy import hooks
from tenancy.context import PlatformAccess, TenantRef, current_var
from tenancy.db import proof

_STATE_ATTR = "_dim_context_state"  # (claim, token bytes) last set on this connection
_IDENT_ATTR = "_dim_context_ident"  # (pid, port) as the server sees the session
_APP_NAME = b"application_name"
_SET_SQL = (
    "SELECT set_config('app.tenant_id', %s, false), set_config('app.tenant_proof', %s, false),"
    " set_config('application_name', %s, false)"
)
_IDENT_SQL = proof.IDENT_SQL


def desired_claim() -> str:
    state = current_var.get()
    if isinstance(state, TenantRef):
        return str(state.id)
    if isinstance(state, PlatformAccess):
        return proof.PLATFORM_CLAIM
    return ""


class TenantBindingCursor(pg_base.ServerBindingCursor):
    """Every psycopg cursor of our connections (Django's and `connection.connection`'s):
    binds on the server, and runs each statement with the context's claim. When the
    claim must change, it travels in the same round trip as the statement (pipeline
    mode); COPY and streaming cannot be pipelined and pay one round trip."""

    def execute(self, query, params=None, **kwargs):
        conn = self.connection
        claim = desired_claim()
        if carried_claim(conn) == claim or not _can_send(conn):
            return super().execute(query, params, **kwargs)
        if getattr(conn, _IDENT_ATTR, None) is None or not _pipelinable(conn, query):
            send_claim(conn, claim)  # a round trip of its own
            return super().execute(query, params, **kwargs)
        if conn._pipeline is not None:  # the caller's pipeline: queue in front
            send_claim(conn, claim, pipelined=True)
            return super().execute(query, params, **kwargs)
        with conn.pipeline():
            send_claim(conn, claim, pipelined=True)
            super().execute(query, params, **kwargs)
        return self

    def executemany(self, query, params_seq, **kwargs):
        ensure_claim(self.connection)
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, *args, **kwargs):
        ensure_claim(self.connection)
        return super().copy(statement, *args, **kwargs)

    def stream(self, query, params=None, **kwargs):
        ensure_claim(self.connection)
        return super().stream(query, params, **kwargs)


# Statements that may share an implicit transaction with the set_config in front of
# them. Others (DISCARD ALL, VACUUM, CREATE DATABASE, ... refuse to run in a transaction
# block) get the claim in a round trip of their own when outside a transaction.
_PIPELINABLE = ("select", "insert", "update", "delete", "with", "values", "explain", "execute")


def _pipelinable(conn, query) -> bool:
    if conn.info.transaction_status != TransactionStatus.IDLE:
        return True  # inside a transaction already: anything goes
    return isinstance(query, str) and query.lstrip()[:7].lower().startswith(_PIPELINABLE)


class _Counters:
    round_trips = 0  # set_config statements that cost a round trip of their own
    pipelined = 0  # ... and those that rode with the statement


counters = _Counters()


def _can_send(conn) -> bool:
    # In a failed transaction only ROLLBACK (TO SAVEPOINT) can run and must not be
    # blocked; the statement after it finds the token changed and re-sends.
    return conn.info.transaction_status != TransactionStatus.INERROR


def ensure_claim(conn) -> None:
    claim = desired_claim()
    if carried_claim(conn) != claim and _can_send(conn):
        send_claim(conn, claim)


def send_claim(conn, claim: str, *, pipelined: bool = False) -> None:
    ident = getattr(conn, _IDENT_ATTR, None)
    # A plain psycopg cursor (not ours: no recursion) that binds on the server: the
    # proof never appears in any statement text (pg_stat_activity shows `$1`).
    with psycopg.Cursor(conn) as cursor:
        if ident is None:
            cursor.execute(_IDENT_SQL)
            ident = tuple(cursor.fetchone())
            setattr(conn, _IDENT_ATTR, ident)
        token = "dim:" + secrets.token_hex(8)
        cursor.execute(_SET_SQL, (claim, proof.proof(claim, *ident), token))
    setattr(conn, _STATE_ATTR, (claim, token.encode()))
    if pipelined:
        counters.pipelined += 1
    else:
        counters.round_trips += 1


class _TenantSettingMixin:
    """Django's wrapper: our cursor class sends the claim itself; named (server-side)
    cursors, which psycopg makes from another class, get it here."""

    def execute(self, sql, params=None):
        if not isinstance(self.cursor, TenantBindingCursor):
            self.db.ensure_tenant_setting()
        return super().execute(sql, params)

    def executemany(self, sql, param_list):
        if not isinstance(self.cursor, TenantBindingCursor):
            self.db.ensure_tenant_setting()
        return super().executemany(sql, param_list)

    def copy(self, statement, *args, **kwargs):
        parent = getattr(super(), "copy", None)  # CursorDebugWrapper logs copies
        if parent is not None:
            return parent(statement, *args, **kwargs)
        return self.cursor.copy(statement, *args, **kwargs)

    def stream(self, query, params=None, **kwargs):
        return self.cursor.stream(query, params, **kwargs)


class TenantCursorWrapper(_TenantSettingMixin, CursorWrapper):
    pass


class TenantCursorDebugWrapper(_TenantSettingMixin, CursorDebugWrapper):
    pass


def carried_claim(raw) -> str | None:
    """The claim the physical connection carries, or None when it cannot be known."""
    state = getattr(raw, _STATE_ATTR, None)
    if state is None or raw.pgconn.parameter_status(_APP_NAME) != state[1]:
        return None
    return state[0]


class DatabaseWrapper(pg_base.DatabaseWrapper):
    @property
    def tenant_setting_round_trips(self) -> int:
        """set_config statements that cost a round trip of their own (this process)."""
        return counters.round_trips

    @property
    def tenant_setting_sends(self) -> int:
        """Every set_config, pipelined or not (this process)."""
        return counters.round_trips + counters.pipelined

    def get_connection_params(self):
        params = super().get_connection_params()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            raise ImproperlyConfigured(
                "tenancy.db.postgresql needs OPTIONS['server_side_binding'] = True: with "
                "client-side binding pg_stat_activity shows other sessions' values"
            )
        params["cursor_factory"] = TenantBindingCursor
        return params

    def get_new_connection(self, conn_params):
        # Django 5.2's pool (OPTIONS["pool"], psycopg_pool) works unchanged: the parent
        # takes the connection from it. The connection manager's breaker wraps the
        # acquisition, so a database that is down is refused at once, per alias.
        parent = super().get_new_connection
        if not hooks.database_connect.provided:
            return parent(conn_params)
        return hooks.database_connect.call(self.alias, lambda: parent(conn_params))

    def ensure_tenant_setting(self) -> None:
        if self.connection is not None:
            ensure_claim(self.connection)

    def make_cursor(self, cursor):
        return TenantCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return TenantCursorDebugWrapper(cursor, self)
