"""Class 2 of issue 9: what the backend believes the connection carries equals what the
server holds, after any sequence of statements, errors, commits of aborted
transactions, raw savepoint rollbacks, RESET/DISCARD, pool hand-backs and context
switches; and every statement runs with its context's claim.

Hypothesis drives a rule-based state machine over a connection of its own (autocommit,
Django's pool with one connection), so that it can BEGIN, COMMIT and DISCARD freely.
After every step the server's settings are read with a plain psycopg cursor (which
sends nothing) and compared with the backend's belief.
"""

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.db.utils import ConnectionHandler
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from psycopg.pq import TransactionStatus

from tenancy.context import TenantRef, no_tenant, platform_access, tenant_context
from tenancy.db.postgresql import base as backend
from tests.markers import postgres_only

pytestmark = postgres_only("the connection's tenant setting")

TENANTS = [TenantRef(id=910001, slug="sm-a"), TenantRef(id=910002, slug="sm-b")]
CONTEXTS = ["a", "b", "none", "platform"]


def _enter(name):
    if name == "a":
        return tenant_context(TENANTS[0])
    if name == "b":
        return tenant_context(TENANTS[1])
    if name == "platform":
        return platform_access("state machine: platform claim")
    return no_tenant()


def _expected_claim(name) -> str:
    return {"a": "910001", "b": "910002", "platform": "*", "none": ""}[name]


class ClaimMachine(RuleBasedStateMachine):
    wrapper = None  # set by the test

    def __init__(self):
        super().__init__()
        self.in_tx = False
        self.savepoint = False
        # Every example starts from the same place (Hypothesis replays examples, so
        # nothing may carry over from the previous one): a fresh session state.
        raw = self._raw()
        if raw.info.transaction_status != TransactionStatus.IDLE:
            raw.execute("ROLLBACK")
        with psycopg.Cursor(raw) as cursor:
            cursor.execute("RESET ALL")
        if hasattr(raw, backend._STATE_ATTR):
            delattr(raw, backend._STATE_ATTR)

    def _raw(self):
        self.wrapper.ensure_connection()
        return self.wrapper.connection

    def _run(self, context, sql):
        with _enter(context), self.wrapper.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else None

    @rule(context=st.sampled_from(CONTEXTS))
    def statement_sees_its_claim(self, context):
        if self._failed():
            return
        claim, tenants = self._run(
            context,
            "SELECT current_setting('app.tenant_id', true), public.dim_context_tenants()",
        )[0]
        assert claim == _expected_claim(context)
        if context in ("a", "b"):
            assert tenants == [int(claim)]
        elif context == "none":
            assert tenants is None
        else:
            assert tenants is not None  # every tenant id

    @rule(context=st.sampled_from(CONTEXTS))
    @precondition(lambda self: not self.in_tx)
    def begin(self, context):
        self._run(context, "BEGIN")
        self.in_tx, self.savepoint = True, False

    @rule(context=st.sampled_from(CONTEXTS), verb=st.sampled_from(["COMMIT", "ROLLBACK"]))
    @precondition(lambda self: self.in_tx)
    def end(self, context, verb):
        self._run(context, verb)  # COMMIT of an aborted transaction is a ROLLBACK
        self.in_tx = self.savepoint = False

    @rule(context=st.sampled_from(CONTEXTS))
    @precondition(lambda self: self.in_tx)
    def fail_a_statement(self, context):
        with pytest.raises(DatabaseError):
            self._run(context, "SELECT 1/0")

    @rule(context=st.sampled_from(CONTEXTS))
    @precondition(lambda self: self.in_tx and not self.savepoint)
    def savepoint_(self, context):
        if not self._failed():
            self._run(context, "SAVEPOINT dim_sm")
            self.savepoint = True

    @rule(context=st.sampled_from(CONTEXTS))
    @precondition(lambda self: self.in_tx and self.savepoint)
    def rollback_to_savepoint(self, context):
        self._run(context, "ROLLBACK TO SAVEPOINT dim_sm")

    @rule(context=st.sampled_from(CONTEXTS), verb=st.sampled_from(["RESET ALL", "DISCARD ALL"]))
    def reset(self, context, verb):
        if self._failed() or (verb == "DISCARD ALL" and self.in_tx):
            return
        self._run(context, verb)

    @rule()
    @precondition(lambda self: not self.in_tx)
    def hand_back_to_pool(self):
        self.wrapper.close()  # back to the pool; the next step takes one out again

    def teardown(self):
        raw = self.wrapper.connection
        if raw is not None and raw.info.transaction_status != TransactionStatus.IDLE:
            raw.execute("ROLLBACK")  # the next example starts outside a transaction

    def _failed(self) -> bool:
        raw = self.wrapper.connection
        return raw is not None and raw.info.transaction_status == TransactionStatus.INERROR

    @invariant()
    def belief_equals_server(self):
        raw = self.wrapper.connection
        if raw is None or self._failed():
            return
        belief = backend.carried_claim(raw)
        with psycopg.Cursor(raw) as cursor:  # sends nothing of ours
            cursor.execute(
                "SELECT coalesce(current_setting('app.tenant_id', true), ''), "
                "public.dim_context_tenants()"
            )
            server_claim, tenants = cursor.fetchone()
        if belief is None:
            return  # the backend does not claim to know: it will re-send
        assert server_claim == belief
        if belief not in ("", "*"):
            assert tenants == [int(belief)]  # and the server accepts its proof
        elif belief == "":
            assert tenants is None


@pytest.fixture
def pooled_wrapper(django_db_blocker):
    cfg = {**connection.settings_dict}
    cfg["OPTIONS"] = {**cfg.get("OPTIONS", {}), "pool": {"min_size": 1, "max_size": 1}}
    cfg["CONN_MAX_AGE"] = 0
    handler = ConnectionHandler({"default": connection.settings_dict, "claim_sm": cfg})
    with django_db_blocker.unblock():
        wrapper = handler["claim_sm"]
        yield wrapper
        wrapper.close()
        wrapper.close_pool()


def test_backend_belief_equals_server_after_any_sequence(
    django_db_setup, pooled_wrapper, django_db_blocker
):
    from hypothesis.stateful import run_state_machine_as_test

    ClaimMachine.wrapper = pooled_wrapper
    with django_db_blocker.unblock():
        run_state_machine_as_test(
            ClaimMachine,
            settings=settings(
                max_examples=40,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
