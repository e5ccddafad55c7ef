"""The SQL-level checks must be able to fail: with the database's proof check replaced
by the old trusting version, or with the backend trusting its memory instead of the
server's reports, the checks of test_sql_forgery.py and the state machine report it."""

import os

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tenancy import rls
from tenancy.context import no_tenant
from tenancy.db.postgresql import base as backend
from tests.isolation import test_claim_state_machine as machine
from tests.isolation import test_sql_forgery as forgery
from tests.markers import postgres_only

pytestmark = postgres_only("the database-side tenant proof")

TRUSTING = (
    f"CREATE OR REPLACE FUNCTION public.{rls.CONTEXT_FUNCTION}() RETURNS bigint[] "
    "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS "
    "$$SELECT ARRAY[nullif(current_setting('app.tenant_id', true), '')::bigint]$$"
)


def _as_owner(statements):
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as owner:
        for sql in statements:
            owner.execute(sql)


@pytest.mark.django_db
def test_selftest_forgery_check_fails_when_the_database_trusts_the_setting(world):
    attack = "SELECT set_config('app.tenant_id', %(b)s, false)"
    forgery.check_claim_switch(attack, world)  # passes with the proof check on
    _as_owner([TRUSTING])
    try:
        with pytest.raises(AssertionError):
            forgery.check_claim_switch(attack, world)
    finally:
        _as_owner(rls.function_statements())
        _as_owner([f"GRANT EXECUTE ON FUNCTION public.{rls.CONTEXT_FUNCTION}() TO dim_app"])
    with no_tenant():
        forgery.visible_tenants()  # a new request: the poisoned connection is reset
    forgery.check_claim_switch(attack, world)  # and passes again


def test_selftest_state_machine_fails_when_the_backend_trusts_its_memory(
    django_db_setup, pooled_wrapper, django_db_blocker, monkeypatch
):
    def remembered_only(raw):  # what the backend believed before: no server report
        state = getattr(raw, backend._STATE_ATTR, None)
        return None if state is None else state[0]

    monkeypatch.setattr(backend, "carried_claim", remembered_only)
    machine.ClaimMachine.wrapper = pooled_wrapper
    with django_db_blocker.unblock(), pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine.ClaimMachine,
            settings=settings(
                max_examples=200,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )


pooled_wrapper = machine.pooled_wrapper
