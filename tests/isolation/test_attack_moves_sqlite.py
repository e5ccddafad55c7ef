"""Red team, the SQLite path of tenant moves (connection_mgr/moving_sqlite.py, issue 17
on the embedded default). B's move copies, re-copies, checks and deletes *B's* rows
with raw SQL on two files; A's rows on either side — A alone in its own file, the
default file that A shares with B — must come out value for value the same, and the
ids the moved file hands out next must never meet the other tenant's."""

import pytest

from connection_mgr import moving
from connection_mgr.actions import _copy_tenant_row
from tenancy.context import platform_access, tenant_context
from tests.markers import embedded_only
from tests.scoping_app.models import Folder

pytestmark = [embedded_only("moving_sqlite is the SQLite path of moves"), pytest.mark.django_db]


def _folders(tenant, names):
    with tenant_context(tenant):
        return [Folder.objects.create(name=name).pk for name in names]


def test_attack_moves_sqlite_b_copied_into_a_file_leaves_a_rows(
    tenant_alpha, tenant_beta, dedicate
):
    b_ids = _folders(tenant_beta, ["b 1", "b 2", "b 3"])
    _folders(tenant_alpha, ["a secret"])
    # A's rows now in a file of its own (copied with their ids; the fixture does not
    # move the file's counter as a move does: no new row of A is made there first).
    alias = dedicate(tenant_alpha)
    _copy_tenant_row(tenant_beta, f"{alias}_owner")  # a move's first step, for B
    with platform_access("test: B's move, step by step"):
        a_there = moving.checksums(alias, tenant_alpha.pk)
        a_default = moving.checksums("default", tenant_alpha.pk)
        assert a_there["scoping_app_folder"]["rows"] == 1  # control
        # B copied into A's file, twice (a retried step): B's rows once, A's untouched.
        assert moving.copy_table(Folder, "default", alias, tenant_beta.pk) == 3
        assert moving.copy_table(Folder, "default", alias, tenant_beta.pk) == 3
        assert moving.checksum(Folder, alias, tenant_beta.pk) == moving.checksum(
            Folder, "default", tenant_beta.pk
        )
        assert moving.checksums(alias, tenant_alpha.pk) == a_there
        # B's purge of each side deletes B's rows only.
        moving.delete_tenant_rows("default", tenant_beta.pk)
        assert moving.checksums("default", tenant_alpha.pk) == a_default
        moving.delete_tenant_rows(alias, tenant_beta.pk)
        assert moving.checksums(alias, tenant_alpha.pk) == a_there
        assert moving.checksum(Folder, alias, tenant_beta.pk)["rows"] == 0
    # A's next ids in its file (the counter moved past by B's copy) never meet B's.
    (a_next,) = _folders(tenant_alpha, ["a next"])
    assert a_next not in b_ids
    with tenant_context(tenant_alpha):
        assert sorted(Folder.objects.values_list("name", flat=True)) == ["a next", "a secret"]


def _attack_move_of_a(worker, attacker, victim, url, owner_url):
    """B creates a `tenant_move` run naming A, to a file B controls; what A's routing is
    afterwards (the run refused or its steps failed: A stays in the default file)."""
    from connection_mgr import aliases
    from connection_mgr.models import TenantDatabase
    from tenancy import db as tenant_db
    from workflow_mgr import actions as workflow_actions

    evil = "tenant_evil"
    try:
        with tenant_context(attacker):
            try:
                run = workflow_actions.create_run(
                    "tenant_move",
                    input={
                        "tenant_id": victim.pk,
                        "to": "dedicated",
                        "alias": evil,
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
        row = TenantDatabase.objects.filter(tenant=victim).values_list("mode", "alias").first()
        return tenant_db.alias_for(victim), row
    finally:
        for name in (evil, f"{evil}_owner"):
            aliases.unregister(name)
        aliases.reset()
