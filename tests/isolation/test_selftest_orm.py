"""The ORM-path checks must be able to fail: switch each defence off and every check of
checks_orm.py has to report it (on the embedded default, where nothing else stands
between a bypassing queryset and other tenants' rows)."""

import contextlib

import pytest
from django.db.models.sql.query import Query

from tenancy import joins, sqlguard
from tenancy.models import scoped, scoped_models
from tests.isolation import checks_orm
from tests.markers import embedded_only


@contextlib.contextmanager
def guard_switched_off(monkeypatch):
    """The compile-time guard, the kept joins and the explicit-key check, all off."""
    with monkeypatch.context() as patch:
        for key, (cls, name, _wrapper) in sqlguard.PATCHES.items():
            patch.setattr(cls, name, sqlguard.ORIGINALS[key])
        patch.setattr(Query, "trim_joins", joins._original_trim_joins)
        patch.setattr(scoped, "explicit_pk", lambda obj: False)
        yield


MODELS = scoped_models()
IDS = [m._meta.label for m in MODELS]
# On PostgreSQL, RLS hides the other tenant's rows and refuses their inserts even with
# the ORM defences off; the "A's context" checks can only fail where it is absent.
sqlite_only = embedded_only("RLS is a second layer on PostgreSQL: only SQLite shows the leak")


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
@pytest.mark.parametrize(
    "check",
    [
        checks_orm.check_bypass_no_context_raises,
        pytest.param(checks_orm.check_bypass_other_tenant_invisible, marks=sqlite_only),
        pytest.param(checks_orm.check_bypass_writes_stay_in_tenant, marks=sqlite_only),
        checks_orm.check_explicit_pk_creates_refused,
    ],
    ids=["no_context", "other_tenant_invisible", "writes_stay_in_tenant", "explicit_pk"],
)
def test_selftest_orm_checks_fail_when_the_guard_is_off(model, check, world, monkeypatch):
    check(model, world)  # passes with the defences on
    with guard_switched_off(monkeypatch), pytest.raises(AssertionError):
        check(model, world)


@pytest.mark.django_db
def test_selftest_trimmed_join_check_fails_when_joins_are_trimmed(world, monkeypatch):
    checks_orm.check_trimmed_joins_scoped(world)
    monkeypatch.setattr(Query, "trim_joins", joins._original_trim_joins)
    with pytest.raises(AssertionError, match="revealed"):
        checks_orm.check_trimmed_joins_scoped(world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_selftest_explicit_pk_check_catches_the_oracle_alone(model, world, monkeypatch):
    """Only the key check off (the guard on): a duplicate-key error is the oracle."""
    monkeypatch.setattr(scoped, "explicit_pk", lambda obj: False)
    with pytest.raises(AssertionError):
        checks_orm.check_explicit_pk_creates_refused(model, world)
