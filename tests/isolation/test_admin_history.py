"""Admin history is tenant-scoped (issue 9, class 7).

Django's `django_admin_log` has no tenant and no RLS: from B's context its
`object_repr` shows the names of A's objects, and the index's "recent actions" and the
history pages read it. `TenantScopedAdmin` logs to `AdminLogEntry` (scoped, RLS) in the
row's tenant instead. The checks are plain functions, so the self-test at the end can
switch the scoped log off (back to Django's stock logging) and show that each fails.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from types import MethodType

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.sites import AdminSite
from django.db import connection
from django.test import Client

from tenancy.admin_base import TenantScopedAdmin
from tenancy.context import platform_access, tenant_context
from tenancy.models import AdminLogEntry, TenantSetting, scoped_models
from tenancy.models.adminlog import ADDITION, CHANGE, DELETION
from tests.markers import postgres_only
from tests.personas import audit_entries

A_NAME, B_NAME = "alpha.codename.falcon", "beta.codename.osprey"
CHANGELIST = "/admin/tenancy/tenantsetting/"


def change_url(pk) -> str:
    return f"{CHANGELIST}{pk}/change/"


@dataclass
class Scene:
    tenant_alpha: object
    tenant_beta: object
    alice: Client  # owner of A
    bob: Client  # owner of B
    sam: Client  # admin of A and B, choosing with X-Tenant
    root: Client  # platform operator (superuser, no tenant: the escape hatch)
    a_row: TenantSetting
    b_row: TenantSetting


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def scene(tenant_alpha, tenant_beta, alpha_owner, beta_owner, member_of_both, superuser) -> Scene:
    with tenant_context(tenant_alpha):
        a_row = TenantSetting.objects.create(key=A_NAME, value="a")
    with tenant_context(tenant_beta):
        b_row = TenantSetting.objects.create(key=B_NAME, value="b")
    return Scene(
        tenant_alpha,
        tenant_beta,
        _client(alpha_owner),
        _client(beta_owner),
        _client(member_of_both),
        _client(superuser),
        a_row,
        b_row,
    )


def edit(client, row, value, **headers):
    response = client.post(
        change_url(row.pk),
        {"key": row.key, "value": json.dumps(value), "description": ""},
        **headers,
    )
    assert response.status_code == 302, response.content[:300]


def scoped_entries(tenant) -> list[tuple]:
    with tenant_context(tenant):
        return list(
            AdminLogEntry.objects.order_by("id").values_list(
                "object_repr", "action_flag", "user__username"
            )
        )


# --- the checks ------------------------------------------------------------------------


def check_edit_writes_a_scoped_entry(scene: Scene) -> None:
    edit(scene.alice, scene.a_row, "a2")
    assert scoped_entries(scene.tenant_alpha) == [(A_NAME, CHANGE, "alice")]
    assert scoped_entries(scene.tenant_beta) == []
    assert not LogEntry.objects.filter(object_repr=A_NAME).exists()


def check_recent_actions_stay_in_their_tenant(scene: Scene) -> None:
    edit(scene.sam, scene.a_row, "a2", HTTP_X_TENANT=scene.tenant_alpha.slug)
    in_a = scene.sam.get("/admin/", HTTP_X_TENANT=scene.tenant_alpha.slug)
    assert in_a.status_code == 200 and A_NAME.encode() in in_a.content  # positive control
    # Beta's recent actions are drawn (the console hides an empty list): they show
    # beta's edit and never alpha's.
    edit(scene.sam, scene.b_row, "b2", HTTP_X_TENANT=scene.tenant_beta.slug)
    in_b = scene.sam.get("/admin/", HTTP_X_TENANT=scene.tenant_beta.slug)
    assert in_b.status_code == 200
    assert b"recent-actions-module" in in_b.content and B_NAME.encode() in in_b.content
    assert A_NAME.encode() not in in_b.content
    bob_index = scene.bob.get("/admin/")
    assert bob_index.status_code == 200 and A_NAME.encode() not in bob_index.content


def check_history_pages_stay_in_their_tenant(scene: Scene) -> None:
    # Alice adds an object in A and deletes it; later a platform operator restores a
    # row of B under the same id (an import). B's history of that id is B's alone.
    added = scene.alice.post(
        f"{CHANGELIST}add/", {"key": "alpha.gone", "value": "1", "description": ""}
    )
    assert added.status_code == 302
    with tenant_context(scene.tenant_alpha):
        gone = TenantSetting.objects.get(key="alpha.gone")
    deleted = scene.alice.post(f"{CHANGELIST}{gone.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    with platform_access("test: restore a row of B under a known id"):
        TenantSetting.objects.create(pk=gone.pk, tenant_id=scene.tenant_beta.pk, key="beta.back")
    with tenant_context(scene.tenant_beta):
        restored = TenantSetting.objects.get(pk=gone.pk)
    edit(scene.bob, restored, "b2")
    page = scene.bob.get(f"{CHANGELIST}{gone.pk}/history/")
    assert page.status_code == 200
    actions = [(a.user.get_username(), a.action_flag) for a in page.context["action_list"]]
    assert actions == [("bob", CHANGE)]  # positive control: B's own entry is there
    assert b"alice" not in page.content
    # A's own history of its row: there (positive control), and B cannot open it.
    edit(scene.alice, scene.a_row, "a2")
    mine = scene.alice.get(f"{CHANGELIST}{scene.a_row.pk}/history/")
    assert [a.user.get_username() for a in mine.context["action_list"]] == ["alice"]
    foreign = scene.bob.get(f"{CHANGELIST}{scene.a_row.pk}/history/")
    missing = scene.bob.get(f"{CHANGELIST}987654321/history/")
    assert foreign.status_code == missing.status_code == 302
    assert foreign["Location"] == missing["Location"]


def _object_reprs(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT object_repr FROM {connection.ops.quote_name(table)}")
        return [row[0] for row in cursor.fetchall()]


def check_raw_sql_in_b_sees_no_name_of_a(scene: Scene) -> None:
    edit(scene.alice, scene.a_row, "a2")
    with tenant_context(scene.tenant_beta):
        assert A_NAME not in _object_reprs(LogEntry._meta.db_table)
        if connection.vendor == "postgresql":  # RLS fences raw SQL (SQLite has none)
            assert _object_reprs(AdminLogEntry._meta.db_table) == []
    if connection.vendor == "postgresql":
        with tenant_context(scene.tenant_alpha):  # positive control
            assert _object_reprs(AdminLogEntry._meta.db_table) == [A_NAME]


CHECKS = [
    check_edit_writes_a_scoped_entry,
    check_recent_actions_stay_in_their_tenant,
    check_history_pages_stay_in_their_tenant,
    check_raw_sql_in_b_sees_no_name_of_a,
]


# --- the tests -------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_history_edit_writes_a_scoped_entry(scene):
    check_edit_writes_a_scoped_entry(scene)


@pytest.mark.django_db
def test_admin_history_recent_actions_show_the_current_tenant_only(scene):
    check_recent_actions_stay_in_their_tenant(scene)


@pytest.mark.django_db
def test_admin_history_pages_show_the_rows_tenant_only(scene):
    check_history_pages_stay_in_their_tenant(scene)


@pytest.mark.django_db
def test_admin_history_raw_sql_in_another_tenant_sees_no_names(scene):
    check_raw_sql_in_b_sees_no_name_of_a(scene)


@postgres_only("row-level security on the scoped admin log")
@pytest.mark.django_db
def test_admin_history_rls_hides_other_tenants_entries_from_raw_sql(scene):
    edit(scene.alice, scene.a_row, "a2")
    edit(scene.bob, scene.b_row, "b2")
    table = connection.ops.quote_name(AdminLogEntry._meta.db_table)
    with tenant_context(scene.tenant_beta), connection.cursor() as cursor:
        cursor.execute(f"SELECT object_repr, tenant_id FROM {table}")
        assert cursor.fetchall() == [(B_NAME, scene.tenant_beta.pk)]
        cursor.execute(f"SELECT count(*) FROM {table} WHERE object_repr = %s", [A_NAME])
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db
def test_admin_history_deletions_are_logged_in_the_tenant(scene):
    with tenant_context(scene.tenant_alpha):
        extra = TenantSetting.objects.create(key="alpha.extra", value=1)
    response = scene.alice.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "_selected_action": [extra.pk, scene.a_row.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert sorted(scoped_entries(scene.tenant_alpha)) == [
        (A_NAME, DELETION, "alice"),
        ("alpha.extra", DELETION, "alice"),
    ]
    assert scoped_entries(scene.tenant_beta) == []
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_admin_history_addition_is_logged_and_audited_in_the_tenant(scene):
    response = scene.alice.post(
        f"{CHANGELIST}add/", {"key": "alpha.new", "value": "1", "description": ""}
    )
    assert response.status_code == 302
    assert scoped_entries(scene.tenant_alpha) == [("alpha.new", ADDITION, "alice")]
    with tenant_context(scene.tenant_alpha):
        new = TenantSetting.objects.get(key="alpha.new")
    audited = [
        json.loads(e.data)["payload"] for e in audit_entries(scene.tenant_alpha, "admin.change")
    ]
    assert audited == [
        {
            "action": "added",
            "model": "tenancy.TenantSetting",
            "object_id": str(new.pk),
            "object": "alpha.new",
        }
    ]
    assert audit_entries(scene.tenant_beta, "admin.change") == []


@pytest.mark.django_db
def test_admin_history_platform_operator_change_lands_in_the_rows_tenant(scene):
    edit(scene.root, scene.b_row, "changed by the operator")
    assert scoped_entries(scene.tenant_beta) == [(B_NAME, CHANGE, "root")]
    assert scoped_entries(scene.tenant_alpha) == []
    [entry] = audit_entries(scene.tenant_beta, "admin.change")
    assert entry.actor == "root" and json.loads(entry.data)["payload"]["object"] == B_NAME
    assert audit_entries(scene.tenant_alpha, "admin.change") == []
    # B's staff see the operator's change in the row's history.
    page = scene.bob.get(f"{CHANGELIST}{scene.b_row.pk}/history/")
    assert [a.user.get_username() for a in page.context["action_list"]] == ["root"]
    # The operator's own recent actions (under the escape hatch) list it.
    assert B_NAME.encode() in scene.root.get("/admin/").content


@pytest.mark.django_db
def test_admin_history_listener_that_raises_refuses_the_change(scene, monkeypatch):
    from tenancy import admin_history

    def refuse(entry):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(admin_history, "admin_action_listeners", [refuse])
    scene.alice.raise_request_exception = True
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        edit(scene.alice, scene.a_row, "never saved")
    with tenant_context(scene.tenant_alpha):
        assert TenantSetting.objects.get(pk=scene.a_row.pk).value == "a"
    assert scoped_entries(scene.tenant_alpha) == []


def test_admin_history_log_is_covered_by_the_conformance_suite():
    assert AdminLogEntry in scoped_models()


# --- self-test: with Django's stock logging, the checks fail -----------------------------


@contextlib.contextmanager
def stock_admin_log(monkeypatch):
    """Switch the defence off: TenantScopedAdmin logs, reads history and lists recent
    actions the way Django's ModelAdmin and AdminSite do (django_admin_log)."""
    with monkeypatch.context() as patch:
        for name in ("log_addition", "log_change", "log_deletion", "log_deletions"):
            patch.setattr(TenantScopedAdmin, name, getattr(admin.ModelAdmin, name))
        patch.setattr(TenantScopedAdmin, "history_view", admin.ModelAdmin.history_view)
        patch.setattr(
            admin.site, "get_log_entries", MethodType(AdminSite.get_log_entries, admin.site)
        )
        yield


@pytest.mark.django_db
@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_admin_history_selftest_checks_fail_with_the_stock_log(check, scene, monkeypatch):
    with stock_admin_log(monkeypatch), pytest.raises(AssertionError) as failed:
        check(scene)
    # It failed on one of its own assertions about isolation, not in a helper.
    assert failed.traceback[-1].frame.code.name == check.__name__
