"""The `security.flood` bench row (issue 10) on a tiny scale: the row module imports and
registers, and its load (bench/flood.py) runs against a live server on this test's
database. The member working from another address is never refused (the row's goal);
the forged tokens are answered 401, then 429 once their source is over its budget."""

import pytest

pytestmark = pytest.mark.django_db


def test_flood_row_registers_and_its_load_refuses_no_member(alpha_owner, tenant_alpha):
    import bench.rows_security_flood  # noqa: F401  (registers the row)
    from bench.flood import basic_header, forged_tokens, run_flood
    from bench.harness import REGISTRY
    from sessions_mgr.actions import do_create_session
    from tests.browser.server import LiveConsole
    from tests.personas import PASSWORD

    row = REGISTRY["security.flood"]
    assert row.goal.limit == 0.0 and "refusals" in row.goal.metric
    _session, token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    sign_in = {"Authorization": basic_header("alice", PASSWORD), "X-Tenant": tenant_alpha.slug}
    live = LiveConsole()
    try:
        result = run_flood(
            live.port,
            forged=forged_tokens(tenant_alpha.pk, 40),
            token=token,
            sign_in=sign_in,
            min_legit=30,
            attackers=1,
        )
    finally:
        live.stop()
    assert result.errors == []
    assert len(result.legit_ns) >= 30
    assert result.legit_refusals == 0, result.legit_statuses
    assert dict(result.forged_statuses) == {401: 10, 429: 30}
