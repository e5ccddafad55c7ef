"""Red team, ORM paths on every backend (the embedded SQLite has no RLS behind them).

The compile-time guard (tenancy/sqlguard.py) refuses SQL text naming a scoped table in
`extra()`, `RawSQL` and `raw()`. Expressions take SQL text too: `Func(template=…)`,
`Func(function=…)`, and the `template` keyword every expression keeps in `extra`
(Subquery, Case, aggregates). Before the fix, on SQLite, `Tenant.objects.annotate(
x=Func(template="(SELECT count(*) FROM tenancy_tenantsetting)"))` counted every
tenant's rows, inside tenant A and with no tenant at all.
"""

import pytest
from django.db import models
from django.db.models import Count, F, Func, OuterRef, Subquery, Value
from django.db.models.functions import Lower

from tenancy.context import no_tenant, platform_access, tenant_context
from tenancy.exceptions import UnscopedSQLRefused
from tenancy.models import Tenant, TenantSetting

pytestmark = pytest.mark.django_db

COUNT_SETTINGS = "(SELECT count(*) FROM tenancy_tenantsetting)"


def _template_func():
    return Func(template=COUNT_SETTINGS, output_field=models.IntegerField())


def _function_func():
    return Func(Value(0), function=f"{COUNT_SETTINGS} +", output_field=models.IntegerField())


def _template_subquery():
    inner = Tenant.objects.filter(pk=OuterRef("pk")).values("pk")
    return Subquery(inner, template=COUNT_SETTINGS, output_field=models.IntegerField())


def _template_aggregate():
    return Count("pk", template=f"%(function)s(%(expressions)s) + {COUNT_SETTINGS}")


TEXT_EXPRESSIONS = {
    "func_template": _template_func,
    "func_function": _function_func,
    "subquery_template": _template_subquery,
    "aggregate_template": _template_aggregate,
}


@pytest.mark.parametrize("make", TEXT_EXPRESSIONS.values(), ids=TEXT_EXPRESSIONS.keys())
def test_expression_sql_text_naming_a_scoped_table_is_refused(make, tenant_alpha, tenant_beta):
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            TenantSetting.objects.create(key="shared.key", value={})
    for context in (tenant_context(tenant_alpha), no_tenant()):
        with context, pytest.raises(UnscopedSQLRefused):
            list(Tenant.objects.annotate(x=make()).values_list("x", flat=True))
    with platform_access("red team: the escape hatch may count every tenant"):
        counts = set(Tenant.objects.annotate(x=make()).values_list("x", flat=True))
    assert counts and all(n >= 2 for n in counts)  # positive control: it does reach both


def test_expressions_with_harmless_text_still_work(tenant_alpha, world):
    with tenant_context(tenant_alpha):
        names = list(
            TenantSetting.objects.annotate(
                k=Func(F("key"), function="LOWER", output_field=models.CharField()),
                l=Lower("key"),
            ).values_list("k", "l")
        )
    assert names and all(k == low for k, low in names)
