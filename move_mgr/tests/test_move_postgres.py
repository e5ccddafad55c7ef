"""A tenant moves to a database of its own and back (issue 17, "Moves") on PostgreSQL,
as the `tenant_move` workflow: every row arrives (counts and md5 per table equal to
before), the source is purged, a checksum mismatch compensates (nothing left in the
target, routing unchanged), a copy killed part-way copies again without duplicates, and
a second move while one runs is refused. Committed rows (tests.committed): the write
hold, the routing switch and the owner's deletes use connections of their own."""

from __future__ import annotations

import os

import psycopg
import pytest
from django.db import connections

from connection_mgr import aliases, moving
from connection_mgr.actions import ConnectionUsageError
from connection_mgr.copying import _ordered
from connection_mgr.models import Mode, TenantDatabase
from move_mgr import actions, workflow
from tenancy.context import tenant_context
from tenancy.db.proof import claim_on
from tenancy.models import TenantSetting
from tenancy.models.scoped import scoped_models
from tests.committed import committed_tenant, needs_owner
from tests.markers import postgres_only
from tests.scoping_app.models import Folder
from workflow_mgr.models import RunState, StepRun, WorkflowRun

pytestmark = [
    postgres_only("COPY, checksums and the write hold are PostgreSQL's"),
    needs_owner,
]


def _remove(tenant) -> None:
    """Every row of the tenant, as the owner (audit rows refuse the runtime role)."""
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
        claim_on(conn, str(tenant.pk))
        for model in reversed(_ordered([m for m in scoped_models() if not m._meta.proxy])):
            conn.execute(f'DELETE FROM "{model._meta.db_table}" WHERE tenant_id = %s', [tenant.pk])
        conn.execute("DELETE FROM connection_mgr_tenantdatabase WHERE tenant_id = %s", [tenant.pk])


@pytest.fixture
def tenant_alpha(django_db_setup, django_db_blocker):
    with committed_tenant(django_db_blocker, "mv-alpha") as tenant:
        try:
            yield tenant
        finally:
            _remove(tenant)


@pytest.fixture
def moving_beta(django_db_setup, django_db_blocker, dedicated_db, settings):
    settings.CONNECTION_ROUTING_TTL = 0  # the purge waits this long after the switch
    with committed_tenant(django_db_blocker, "mv-beta") as tenant:
        alias = f"tenant_{tenant.pk}"
        try:
            with django_db_blocker.unblock():
                with tenant_context(tenant):
                    for i in range(40):
                        TenantSetting.objects.create(key=f"k{i}", value={"i": i, "t": "é\t\n\\"})
                        Folder.objects.create(name=f"folder {i}")
                yield tenant, alias, dedicated_db
        finally:
            for name in (alias, f"{alias}_owner", "default_owner"):
                aliases.unregister(name)
            aliases.reset()
            _remove(tenant)


def _state(tenant, alias):
    with tenant_context(tenant):
        return moving.checksums(alias, tenant.pk)


def _run(worker, tenant, to, **kwargs):
    run = actions.do_start_move(tenant, to, **kwargs)
    worker()
    with tenant_context(tenant):
        run.refresh_from_db()
        steps = {s.name: s for s in StepRun.objects.filter(run=run, phase="action")}
    return run, steps


def test_a_move_there_and_back_keeps_every_row(worker, moving_beta, tenant_alpha):
    tenant, alias, (url, owner_url) = moving_beta
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(key="alpha-stays", value={})
    before = _state(tenant, "default")
    assert before["tenancy_tenantsetting"]["rows"] >= 40

    run, steps = _run(worker, tenant, "dedicated", url=url, owner_url=owner_url)
    assert run.state == RunState.SUCCEEDED, [(s.name, s.error) for s in steps.values()]
    assert TenantDatabase.objects.get(tenant=tenant).mode == Mode.DEDICATED
    assert _state(tenant, alias) == before
    assert all(v["rows"] == 0 for v in _state(tenant, "default").values())  # purged
    assert "pause_ms" in steps["switch"].output
    with tenant_context(tenant):  # routed: the ORM reads the tenant's own database
        assert TenantSetting.objects.filter(key="k7").get()._state.db == alias
        TenantSetting.objects.create(key="written-while-dedicated", value={})
    after_write = _state(tenant, alias)

    run, steps = _run(worker, tenant, "pooled")
    assert run.state == RunState.SUCCEEDED, [(s.name, s.error) for s in steps.values()]
    assert TenantDatabase.objects.get(tenant=tenant).mode == Mode.POOLED
    assert _state(tenant, "default") == after_write
    assert all(v["rows"] == 0 for v in _state(tenant, alias).values())
    with tenant_context(tenant):
        assert TenantSetting.objects.filter(key="written-while-dedicated").exists()
    with tenant_context(tenant_alpha):  # another tenant's rows never moved
        assert TenantSetting.objects.filter(key="alpha-stays").exists()


def test_a_checksum_mismatch_compensates(worker, moving_beta, monkeypatch):
    tenant, alias, (url, owner_url) = moving_beta
    before = _state(tenant, "default")
    real = moving.checksum

    def corrupted(model, using, tenant_id):
        answer = real(model, using, tenant_id)
        if using != "default" and model is TenantSetting:
            answer = {**answer, "md5": "0" * 32}
        return answer

    monkeypatch.setattr(moving, "checksum", corrupted)
    run, steps = _run(worker, tenant, "dedicated", url=url, owner_url=owner_url)
    assert run.state == RunState.COMPENSATED
    assert "differ" in steps["verify"].error and "tenancy_tenantsetting" in steps["verify"].error
    monkeypatch.setattr(moving, "checksum", real)
    assert not TenantDatabase.objects.filter(tenant=tenant, mode=Mode.DEDICATED).exists()
    assert all(v["rows"] == 0 for v in _state(tenant, alias).values())  # copies deleted
    assert _state(tenant, "default") == before  # the source untouched


def test_a_copy_killed_part_way_copies_again_without_duplicates(worker, moving_beta, monkeypatch):
    tenant, alias, (url, owner_url) = moving_beta
    before = _state(tenant, "default")
    real, calls = moving.copy_table, []

    def dies_after_some_tables(model, *args):
        copied = real(model, *args)
        calls.append(model)
        if len(calls) == 3:
            raise ConnectionError("worker killed mid-copy")
        return copied

    monkeypatch.setattr(moving, "copy_table", dies_after_some_tables)
    run, steps = _run(worker, tenant, "dedicated", url=url, owner_url=owner_url)
    assert steps["copy"].attempts >= 2 and run.state == RunState.SUCCEEDED
    assert _state(tenant, alias) == before


def test_a_second_move_while_one_runs_is_refused(moving_beta):
    tenant, alias, (url, owner_url) = moving_beta
    with tenant_context(tenant):
        WorkflowRun.objects.create(name=workflow.NAME, state=RunState.RUNNING)
    with pytest.raises(ConnectionUsageError, match="Another move") as refused:
        actions.do_start_move(tenant, "dedicated", url=url, owner_url=owner_url)
    assert refused.value.conflict
    with tenant_context(tenant):
        assert WorkflowRun.objects.filter(name=workflow.NAME).count() == 1
    assert not TenantDatabase.objects.filter(tenant=tenant).exists()
    assert alias not in connections.settings


def test_a_tenant_with_sessions_mfa_and_admin_log_moves_there_and_back(worker, moving_beta):
    """Rows linking to a user (a platform row of the default database only) move with
    their raw ids; the tenant's database never holds a user, and the user signs in and
    passes MFA in each place."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    from move_mgr.tests import userlinks  # noqa: PLC0415

    tenant, alias, (url, owner_url) = moving_beta
    seeded = userlinks.seed(tenant)
    try:
        counts = userlinks.rows(tenant)
        assert all(counts.values()), counts
        before = _state(tenant, "default")

        run, steps = _run(worker, tenant, "dedicated", url=url, owner_url=owner_url)
        assert run.state == RunState.SUCCEEDED, [(s.name, s.error) for s in steps.values()]
        assert _state(tenant, alias) == before
        assert userlinks.rows(tenant) == counts
        assert not get_user_model().objects.using(alias).exists()  # no credentials copied
        userlinks.assert_signs_in_and_passes_mfa(tenant, seeded, alias)
        after_write = _state(tenant, alias)

        run, steps = _run(worker, tenant, "pooled")
        assert run.state == RunState.SUCCEEDED, [(s.name, s.error) for s in steps.values()]
        assert _state(tenant, "default") == after_write
        assert all(v["rows"] == 0 for v in _state(tenant, alias).values())
        userlinks.assert_signs_in_and_passes_mfa(tenant, seeded, "default")
    finally:
        userlinks.remove(seeded)
