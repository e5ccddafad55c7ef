"""The lifecycle API: operators enrol, read and move tenants (202 with the run; 409 with
the reason and nothing changed for an illegal transition or a purge under hold), edit
tiers (bad input a 400 naming the field); members read their tenant's state and quota
usage, and may not act as operators."""

from __future__ import annotations

import pytest

from lifecycle_mgr import actions
from lifecycle_mgr.holds import do_place_hold
from lifecycle_mgr.models import TenantLifecycle, TierPolicy
from managers import LifecycleManager
from tenancy.context import platform_access
from tenancy.models import Tenant
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/lifecycle/"


@pytest.fixture
def ops(superuser):
    return api_as(superuser)


def test_operator_enrols_a_tenant_and_reads_it(ops, tenant_alpha):
    made = ops.post(f"{BASE}tenants/{tenant_alpha.slug}/", {"tier": "standard"}, format="json")
    assert made.status_code == 200, made.content
    body = made.json()
    assert body["state"] == "active" and body["tier"] == "standard"
    assert set(body["allowed_transitions"]) == {"suspend", "offboard"}
    unknown = ops.post(f"{BASE}tenants/{tenant_alpha.slug}/", {"tier": "gold"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_tier"
    assert ops.get(f"{BASE}tenants/nobody/").status_code == 404


def test_transition_starts_a_run_and_illegal_one_is_a_409(
    ops, tenant_alpha, django_capture_on_commit_callbacks
):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    url = f"{BASE}tenants/{tenant_alpha.slug}/transitions/"
    with django_capture_on_commit_callbacks(execute=True):
        started = ops.post(url, {"transition": "suspend"}, format="json")
    assert started.status_code == 202, started.content
    assert started.json()["transition"] == "suspend"
    assert TenantLifecycle.objects.get(tenant=tenant_alpha).state == "suspended"
    illegal = ops.post(url, {"transition": "archive"}, format="json")
    assert illegal.status_code == 409
    assert "suspended cannot archive" in illegal.json()["error"]["message"]
    bad = ops.post(url, {"transition": "explode"}, format="json")
    assert bad.status_code == 400
    history = ops.get(url).json()
    assert history["state"] == "suspended" and history["allowed"] == ["resume", "offboard"]
    assert [r["transition"] for r in history["runs"]] == ["suspend"]


def test_purge_under_hold_is_a_409_naming_the_hold(ops, tenant_alpha):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    with platform_access("test: alpha archived"):
        TenantLifecycle.objects.filter(tenant=tenant_alpha).update(state="archived")
    do_place_hold(tenant_alpha.pk, reason="case 42", actor="legal")
    refused = ops.post(
        f"{BASE}tenants/{tenant_alpha.slug}/transitions/", {"transition": "purge"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "legal_hold"
    assert "case 42" in refused.json()["error"]["message"]
    assert TenantLifecycle.objects.get(tenant=tenant_alpha).state == "archived"


def test_operator_edits_a_tier_and_bad_retention_is_a_400(ops):
    listed = ops.get(f"{BASE}tiers/").json()
    assert [t["name"] for t in listed] == ["enterprise", "free", "standard"]
    edited = ops.patch(f"{BASE}tiers/free/", {"max_users": 7}, format="json")
    assert edited.status_code == 200 and edited.json()["max_users"] == 7
    assert TierPolicy.objects.get(name="free").max_users == 7
    bad = ops.patch(f"{BASE}tiers/free/", {"retention_days": {"everything": 3}}, format="json")
    assert bad.status_code == 400 and "retention_days" in bad.json()["error"]["fields"]
    assert ops.patch(f"{BASE}tiers/gold/", {}, format="json").status_code == 404


def test_members_read_their_state_and_usage_but_are_not_operators(alpha_owner, tenant_alpha):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    member = api_as(alpha_owner, tenant_alpha)
    state = member.get(f"{BASE}state/").json()
    assert state["tenant"] == tenant_alpha.slug and state["tier"] == "free"
    usage = {row["quota"]: row for row in member.get(f"{BASE}quotas/").json()}
    assert usage["users"]["used"] == 1 and usage["users"]["limit"] == 5
    assert member.get(f"{BASE}tiers/").status_code == 403
    assert (
        member.post(
            f"{BASE}tenants/{tenant_alpha.slug}/transitions/", {"transition": "suspend"}
        ).status_code
        == 403
    )


def test_member_of_an_unenrolled_tenant_gets_a_404(beta_owner, tenant_beta):
    response = api_as(beta_owner, tenant_beta).get(f"{BASE}state/")
    assert response.status_code == 404  # the API's one 404 body


def test_facade_creates_the_seed_tenant_and_moves_it(django_capture_on_commit_callbacks):
    lifecycle = LifecycleManager()
    made = lifecycle.create_tenant_lifecycle_sync(
        tenant_id="new_tenant", lifecycle_policy="enterprise_tier"
    )
    assert made["tenant"] == "new-tenant" and made["state"] == "requested"
    assert made["tier"] == "enterprise"
    assert Tenant.objects.get(slug="new-tenant").state == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        started = lifecycle.transition_sync("new-tenant", "provision")
    assert started["workflow"] == "lifecycle.provision"
    assert lifecycle.get_lifecycle_sync("new-tenant")["state"] == "provisioning"
    assert {row["quota"] for row in lifecycle.quota_usage_sync("new-tenant")} >= {"users"}
