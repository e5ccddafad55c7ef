"""Attacks on dedicated-tenant routing through the `tenant_move` workflow (move_mgr) by a
second tenant.

`tenant_move` is registered in workflow_mgr's global registry, and `POST
/api/v1/workflows/` (any MEMBER of any tenant) starts a run of any registered name with
any `input` (workflow_mgr/api/views.py -> actions.create_run). The move's steps take
`tenant_id`, `alias`, `url` and `owner_url` from that input (move_mgr/workflow.py
`ends()`), not from the run's tenant, and the `switch` step writes the routing row as
the owner on a connection of its own (connection_mgr/moving.py `set_routing`).

Found: B's member starts `tenant_move` with A's id and a database URL of B's choosing:
A is routed there. Every later request of A reads and writes its scoped rows in B's
database (B reads A's new data; A sees none of its old data). `ends()` also registers
whatever `alias` the input names in the worker process (`aliases.register(alias, url)`),
so `"alias": "default"` would repoint the worker's default database itself.

The run below is started exactly as the API view starts it (`create_run(definition,
input=...)` in B's context); the committed-tenant fixtures are move_mgr's."""

from __future__ import annotations

from connection_mgr import aliases
from connection_mgr.models import TenantDatabase
from connection_mgr.tests.test_dedicated import dedicated_db  # noqa: F401  (fixture)
from move_mgr.tests.conftest import worker  # noqa: F401  (fixture)
from move_mgr.tests.test_move_postgres import moving_beta, tenant_alpha  # noqa: F401
from tenancy import db as tenant_db
from tenancy.context import tenant_context
from tests.committed import needs_owner
from tests.markers import postgres_only
from workflow_mgr import actions as workflow_actions
from workflow_mgr.models import StepRun

pytestmark = [postgres_only("the tenant_move workflow is PostgreSQL's"), needs_owner]

EVIL = "tenant_evil"


def test_attack_moves_tenant_b_cannot_move_tenant_a_to_its_database(
    worker,  # noqa: F811
    moving_beta,  # noqa: F811
    tenant_alpha,  # noqa: F811
):
    attacker, _alias, (url, owner_url) = moving_beta  # B, and a database B controls
    victim = tenant_alpha
    try:
        with tenant_context(attacker):
            try:
                run = workflow_actions.create_run(
                    "tenant_move",
                    input={
                        "tenant_id": victim.pk,
                        "to": "dedicated",
                        "alias": EVIL,
                        "url": url,
                        "owner_url": owner_url,
                    },
                    actor="mallory",
                )
            except Exception:  # noqa: BLE001  (refused: what we expect)
                run = None
        if run is not None:
            worker()
        aliases.reset()
        routed = tenant_db.alias_for(victim)
        row = TenantDatabase.objects.filter(tenant=victim).values_list("mode", "alias").first()
        steps = {}
        if run is not None:
            with tenant_context(attacker):
                steps = dict(
                    StepRun.objects.filter(run=run, phase="action").values_list("name", "state")
                )
        assert routed == "default" and row is None, (
            f"B moved A: A now routed to {routed!r} (routing row {row!r}; B's run steps {steps})"
        )
    finally:
        for name in (EVIL, f"{EVIL}_owner", "default_owner"):
            aliases.unregister(name)
        aliases.reset()
