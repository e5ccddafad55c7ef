"""The suite must be able to fail: switch scoping off (the ORM filter and, on
PostgreSQL, the RLS setting) and every check has to report it."""

import contextlib

import pytest

from tenancy.models import scoped_models
from tenancy.models.scoped import InCurrentTenant
from tests.isolation import checks


@contextlib.contextmanager
def scoping_switched_off(monkeypatch):
    """Sabotage both layers: the ORM leaf matches every row, and PostgreSQL connections
    run as the platform role whose policy admits every row."""

    def no_filter(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs_sql} IS NOT NULL", tuple(lhs_params)

    with monkeypatch.context() as patch:
        patch.setattr(InCurrentTenant, "as_sql", no_filter)

        from tenancy.db.postgresql import base as pg

        patch.setattr(pg, "desired_claim", lambda: "*")
        yield


MODELS = scoped_models()


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
@pytest.mark.parametrize(
    "check",
    [checks.check_no_context_raises, checks.check_other_tenant_invisible],
    ids=["no_context", "other_tenant_invisible"],
)
def test_selftest_checks_fail_when_scoping_is_off(model, check, any_world, monkeypatch):
    world = any_world  # pooled and dedicated: neither suite can pass vacuously
    check(model, world)  # passes with scoping on
    with scoping_switched_off(monkeypatch), pytest.raises(AssertionError):
        check(model, world)
