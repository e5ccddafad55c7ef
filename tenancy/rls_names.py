"""The SQL names and quoting that the row-level security modules share (`rls` applies
the policies, `rls_platform` guards the platform tables, `rls_inspect` checks both),
kept apart so that none of them has to import another one back."""

from __future__ import annotations

import hashlib

KEY_TABLE = "dim_context_key"
REFERENCE_TABLE = "dim_policy_reference"
CONTEXT_FUNCTION = "dim_context_tenants"
# One InitPlan per statement; `= ANY(array)` lets the `(tenant_id, ...)` indexes drive
# the scan for one tenant (an array of one id) and for platform access (every id).
TENANT_EXPR = f"(SELECT public.{CONTEXT_FUNCTION}())::bigint[]"
POLICY_EXPR = f"tenant_id = ANY (({TENANT_EXPR}))"
POLICY = "dim_tenant_isolation"
LEGACY_POLICIES = ("dim_platform_access",)


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def short(prefix: str, *parts: str) -> str:
    """A stable, short object name derived from `parts` (PostgreSQL cuts names at 63)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]
    return f"{prefix}_{digest}"
