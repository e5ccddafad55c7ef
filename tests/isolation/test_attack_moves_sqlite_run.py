"""Red team, the `tenant_move` workflow on the embedded default (SQLite files): B asks
for a move of A into a file B controls. Committed (the workflow's messages are sent
after its commits); the committed-tenant fixtures are move_mgr's embedded ones."""

from __future__ import annotations

import pytest

from move_mgr.tests.conftest import worker  # noqa: F401  (fixture)
from move_mgr.tests.test_move_embedded import (  # noqa: F401  (fixtures)
    moving_beta,
    target_file,
    tenant_alpha,
)
from tests.isolation.test_attack_moves_sqlite import _attack_move_of_a
from tests.markers import embedded_only

pytestmark = [
    embedded_only("the SQLite path of moves (PostgreSQL's: test_attack_moves.py)"),
    pytest.mark.django_db(transaction=True),
]


def test_attack_moves_sqlite_b_cannot_move_a_to_its_file(
    worker,  # noqa: F811
    moving_beta,  # noqa: F811
    tenant_alpha,  # noqa: F811
):
    attacker, _alias, (url, owner_url) = moving_beta  # B, and a file B controls
    routed, row = _attack_move_of_a(worker, attacker, tenant_alpha, url, owner_url)
    assert routed == "default" and row is None, f"B moved A: routed to {routed!r} ({row!r})"
