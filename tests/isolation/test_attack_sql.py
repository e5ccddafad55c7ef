"""Red team, raw SQL as the runtime role across context switches on one connection.

What held is listed in docs/red-team-issue-9.md (COPY TO is filtered by RLS, COPY
FROM is refused, LISTEN channels do not survive, ...). What is still open is kept here
as a strict xfail, so that the day it is fixed the suite says so.
"""

import pytest
from django.db import connection, transaction

from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.markers import postgres_only

pytestmark = [postgres_only("cursors of the database session"), pytest.mark.django_db]
TABLE = TenantSetting._meta.db_table


def rows(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.xfail(
    strict=True,
    reason="open: the policy's sub-select runs at a cursor's first FETCH; a cursor first "
    "fetched in A keeps A's claim, so rows fetched later on the same connection in B's "
    "context are A's (a WITH HOLD cursor outlives the request on a pooled connection). "
    "Fix idea: CLOSE ALL held cursors when the claim changes outside a transaction.",
)
def test_cursor_first_fetched_in_a_yields_nothing_of_a_in_b(world):
    a, b = world.tenant_alpha.pk, world.tenant_beta.pk
    with tenant_context(world.tenant_alpha):
        TenantSetting.objects.create(key="second.row", value={})
    with transaction.atomic():
        with tenant_context(world.tenant_alpha):
            rows(f"DECLARE dim_atk CURSOR WITH HOLD FOR SELECT tenant_id FROM {TABLE}")
            assert {t for (t,) in rows("FETCH 1 FROM dim_atk")} == {a}  # positive control
        with tenant_context(world.tenant_beta):
            later = {t for (t,) in rows("FETCH ALL FROM dim_atk")}
            rows("CLOSE dim_atk")
    assert later <= {b}
