"""Attacks on the lifecycle's platform rows (lifecycle_mgr.models) by a tenant with SQL as
the runtime role (an injection in its own request: the first row of the threat model in
docs/isolation.md).

`TenantLifecycle` (a tenant's state and tier), `TierPolicy` (every tier's quotas and
retention) and `LegalHold` are platform rows that the runtime role must read (quotas,
retention and the purge's hold check read them in a tenant's context). Unguarded, a
suspended tenant's SQL could set its own row back to `active`, move itself to the
enterprise tier, lift every tier's quotas, or release a legal hold placed on it.

Closed: the three tables are under the platform-claim write guard
(tenancy/rls_platform.py, registered by lifecycle_mgr): everyone reads, INSERT,
UPDATE and DELETE need the verified platform claim, which the lifecycle's own writes
take (`platform_access()`: enrolment, the transition steps, tier edits, holds). The
runtime role has no TRUNCATE and owns nothing, so it cannot switch the guard off."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from lifecycle_mgr import actions
from lifecycle_mgr.holds import do_place_hold
from lifecycle_mgr.models import LegalHold, LifecycleState, TenantLifecycle, TierPolicy
from tenancy.context import platform_access
from tests.isolation.platform_rows import (
    as_owner,
    ddl_attempts,
    refused,
    run_as,
    with_forged_platform_claim,
)
from tests.markers import postgres_only

pytestmark = [
    pytest.mark.django_db,
    postgres_only("the runtime role's privileges on the lifecycle's platform tables"),
]

LIFECYCLE = TenantLifecycle._meta.db_table
TIERS = TierPolicy._meta.db_table
HOLDS = LegalHold._meta.db_table


@pytest.fixture
def suspended_alpha(tenant_alpha):
    """A: enrolled on the free tier, then suspended (as the platform does it)."""
    row = actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    with platform_access("test: suspend alpha"):
        TenantLifecycle.objects.filter(pk=row.pk).update(state=LifecycleState.SUSPENDED)
    return tenant_alpha


def _readable(tenant, table: str, where: str, params) -> None:
    """The row is there for the attacker to read: a write that changes nothing was
    refused by the guard, not aimed at a row it cannot see."""
    assert run_as(tenant, f"SELECT 1 FROM {table} WHERE {where}", params) == 1


def test_attack_lifecycle_rows_suspended_tenant_cannot_unsuspend_itself(suspended_alpha):
    tenant = suspended_alpha
    _readable(tenant, LIFECYCLE, "tenant_id = %s", [tenant.pk])
    enterprise = TierPolicy.objects.get(name="enterprise").pk
    attempts = {
        "state": (f"UPDATE {LIFECYCLE} SET state = 'active' WHERE tenant_id = %s", [tenant.pk]),
        "tier": (
            f"UPDATE {LIFECYCLE} SET policy_id = %s WHERE tenant_id = %s",
            [enterprise, tenant.pk],
        ),
        "delete and insert": (
            f"DELETE FROM {LIFECYCLE} WHERE tenant_id = %s",
            [tenant.pk],
        ),  # fmt: skip
    }
    wrote = {w: o for w, (sql, p) in attempts.items() if not refused(o := run_as(tenant, sql, p))}
    assert not wrote, f"the tenant's SQL changed its own lifecycle row: {wrote}"
    row = TenantLifecycle.objects.select_related("policy").get(tenant=tenant)
    assert (row.state, row.policy.name) == (LifecycleState.SUSPENDED, "free")


def test_attack_lifecycle_rows_tenant_cannot_enrol_itself_on_another_tier(tenant_beta):
    enterprise = TierPolicy.objects.get(name="enterprise").pk
    outcome = run_as(
        tenant_beta,
        f"INSERT INTO {LIFECYCLE} (tenant_id, state, policy_id, state_changed_at, created_at) "
        "VALUES (%s, 'active', %s, now(), now())",
        [tenant_beta.pk, enterprise],
    )
    assert isinstance(outcome, DatabaseError) and "row-level security" in str(outcome)
    assert not TenantLifecycle.objects.filter(tenant=tenant_beta).exists()


def test_attack_lifecycle_rows_tenant_cannot_change_the_tiers(tenant_alpha):
    free = TierPolicy.objects.get(name="free")
    _readable(tenant_alpha, TIERS, "id = %s", [free.pk])
    attempts = {
        "lift quotas": (
            f"UPDATE {TIERS} SET max_users = NULL, max_api_requests_per_minute = NULL",
            None,
        ),
        "retention": (f"UPDATE {TIERS} SET retention_days = '{{}}'::jsonb", None),
        "new tier": (
            f"INSERT INTO {TIERS} (name, title, retention_days, default_security_level, "
            "isolation_mode, updated_at) VALUES ('evil', 'Evil', '{}', 'standard', "
            "'pooled', now())",
            None,
        ),
        "delete": (f"DELETE FROM {TIERS} WHERE name = 'evil' OR id = %s", [free.pk]),
    }
    wrote = {
        w: o for w, (sql, p) in attempts.items() if not refused(o := run_as(tenant_alpha, sql, p))
    }
    assert not wrote, f"a tenant's SQL changed the tiers: {wrote}"
    fresh = TierPolicy.objects.get(pk=free.pk)
    assert (fresh.max_users, fresh.retention_days) == (free.max_users, free.retention_days)
    assert not TierPolicy.objects.filter(name="evil").exists()


def test_attack_lifecycle_rows_tenant_cannot_release_its_legal_hold(tenant_alpha):
    hold = do_place_hold(tenant_alpha.pk, reason="litigation", actor="ops")
    _readable(tenant_alpha, HOLDS, "id = %s", [hold.pk])
    attempts = {
        "release": (f"UPDATE {HOLDS} SET released_at = now() WHERE id = %s", [hold.pk]),
        "delete": (f"DELETE FROM {HOLDS} WHERE id = %s", [hold.pk]),
    }
    wrote = {
        w: o for w, (sql, p) in attempts.items() if not refused(o := run_as(tenant_alpha, sql, p))
    }
    assert not wrote, f"the tenant's SQL lifted its legal hold: {wrote}"
    assert LegalHold.objects.get(pk=hold.pk).released_at is None


@pytest.mark.parametrize("table", [LIFECYCLE, TIERS, HOLDS])
@pytest.mark.parametrize("what", sorted(ddl_attempts("t")))
def test_attack_lifecycle_rows_sql_cannot_switch_the_guard_off(tenant_alpha, table, what):
    outcome = run_as(tenant_alpha, ddl_attempts(table)[what])
    assert isinstance(outcome, DatabaseError), f"the runtime role may {what} {table}"
    assert "permission denied" in str(outcome) or "must be" in str(outcome), str(outcome)


def test_attack_lifecycle_rows_forged_platform_claim_is_refused():
    """The platform claim set by hand, without the key to prove it."""
    sql = f"UPDATE {TIERS} SET max_users = NULL WHERE name = 'free' RETURNING id"
    before = TierPolicy.objects.get(name="free").max_users
    try:
        outcome = with_forged_platform_claim(sql)
        assert refused(outcome), "a forged platform claim changed a tier"
    finally:
        # Put back whatever got through (autocommit, outside the test's transaction).
        as_owner(f"UPDATE {TIERS} SET max_users = %s WHERE name = 'free'", [before])
    assert TierPolicy.objects.get(name="free").max_users == before


def test_attack_lifecycle_rows_the_platform_still_writes_them(tenant_beta):
    """The guard asks for the claim; the lifecycle's own writes take it."""
    row = actions.create_tenant_lifecycle(tenant_beta.pk, "free")
    row = actions.create_tenant_lifecycle(tenant_beta.pk, "standard")  # tier changed
    assert TenantLifecycle.objects.get(pk=row.pk).policy.name == "standard"


@pytest.mark.xfail(
    strict=True,
    reason="open: tenancy_tenant (whose state tenant resolution reads) is writable by the "
    "runtime role; guarding its state column needs every writer under the platform claim "
    "(docs/isolation.md, Threat model)",
)
def test_attack_lifecycle_rows_suspended_tenant_cannot_reactivate_its_tenant_row(
    suspended_alpha,
):
    """The lifecycle row is guarded, but the tenant row's own `state` (what tenant
    resolution serves or refuses) is not yet: a suspended tenant's SQL sets it back."""
    from tenancy.models import Tenant

    Tenant.objects.filter(pk=suspended_alpha.pk).update(state="suspended")
    outcome = run_as(
        suspended_alpha,
        "UPDATE tenancy_tenant SET state = 'active' WHERE id = %s",
        [suspended_alpha.pk],
    )
    assert refused(outcome), "a suspended tenant's SQL reactivated its tenant row"
