"""Tier quotas where the work happens: members, sessions, metadata records (caps: 403),
metric samples per day and API requests per minute (rates: 429 with Retry-After), each
refusal naming the quota and changing nothing; tenants without a lifecycle, and the
setting switched off, are not limited."""

from __future__ import annotations

import pytest

from lifecycle_mgr import actions
from lifecycle_mgr import quotas as lifecycle_quotas
from lifecycle_mgr.models import TierPolicy
from metadata_mgr.models import Record
from perf_mgr.models import MetricSample
from sessions_mgr.actions import do_create_session
from sessions_mgr.models import Session
from tenancy.actions import do_add_member
from tenancy.context import platform_access, tenant_context
from tenancy.models import Membership, Role
from tenancy.quotas import QuotaExceeded
from tests.personas import _user, api_as

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enforced(settings):
    settings.LIFECYCLE_QUOTAS_ENFORCED = True


@pytest.fixture
def tiny(tenant_alpha, alpha_owner):
    """Alpha on a tier with room for exactly what the test adds (tiers are platform
    rows: made under the platform claim, as the console does)."""
    with platform_access("test: a tier with tiny quotas"):
        policy = TierPolicy.objects.create(
            name="tiny",
            title="Tiny",
            max_users=2,
            max_sessions=1,
            max_metadata_records=1,
            max_metric_samples_per_day=3,
            max_api_requests_per_minute=1000,
        )
    actions.create_tenant_lifecycle(tenant_alpha.pk, "tiny")
    return policy


def test_membership_over_the_users_cap_is_refused_naming_the_quota(tenant_alpha, tiny):
    do_add_member(tenant_alpha, _user("second"), Role.MEMBER)  # owner + 1 = 2
    with pytest.raises(
        QuotaExceeded, match="Quota users exceeded: the limit of the tiny tier is 2"
    ) as refused:
        do_add_member(tenant_alpha, _user("third"), Role.MEMBER)
    assert refused.value.status == 403
    assert Membership.objects.filter(tenant=tenant_alpha).count() == 2
    # A role change adds nobody: allowed at the cap.
    second = Membership.objects.get(tenant=tenant_alpha, user__username="second")
    do_add_member(tenant_alpha, second.user, Role.ADMIN)


def test_session_over_the_cap_is_refused(tenant_alpha, alpha_owner, tiny):
    do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    with pytest.raises(QuotaExceeded, match="Quota sessions exceeded") as refused:
        do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    assert refused.value.status == 403
    with tenant_context(tenant_alpha):
        assert Session.objects.count() == 1


def test_metadata_record_over_the_cap_is_a_403_naming_the_quota(tenant_alpha, alpha_owner, tiny):
    client = api_as(alpha_owner, tenant_alpha)
    body = {"metadata_type": "business", "content": {}, "name": "a", "owner": "x"}
    assert client.post("/api/v1/metadata/records/", body, format="json").status_code == 201
    refused = client.post("/api/v1/metadata/records/", {**body, "name": "b"}, format="json")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded" and "metadata_records" in error["message"]
    with tenant_context(tenant_alpha):
        assert Record.objects.count() == 1


def test_metric_batch_over_the_daily_rate_is_a_429_with_retry_after(
    tenant_alpha, alpha_owner, tiny
):
    client = api_as(alpha_owner, tenant_alpha)
    samples = [{"name": "orders", "value": n} for n in range(2)]
    ok = client.post("/api/v1/metrics/", {"samples": samples}, format="json")
    assert ok.status_code == 200 and ok.json()["accepted"] == 2
    refused = client.post("/api/v1/metrics/", {"samples": samples}, format="json")
    assert refused.status_code == 429
    assert "metric_samples_per_day" in refused.json()["error"]["message"]
    assert 0 < int(refused["Retry-After"]) <= 86_400
    with tenant_context(tenant_alpha):
        assert MetricSample.objects.count() == 2
    # The refused batch took its count back: one more sample still fits.
    one = client.post("/api/v1/metrics/", {"samples": samples[:1]}, format="json")
    assert one.status_code == 200


def test_api_requests_over_the_rate_are_a_429(tenant_alpha, alpha_owner, tiny):
    tiny.max_api_requests_per_minute = 2
    with platform_access("test: the tiny tier's request rate"):
        tiny.save(update_fields=["max_api_requests_per_minute"])
    client = api_as(alpha_owner, tenant_alpha)
    url = "/api/v1/metadata/records/"
    statuses = [client.get(url).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    if statuses[2] != 429:  # the two may straddle a minute boundary: one more says it
        statuses.append(client.get(url).status_code)
        statuses.append(client.get(url).status_code)
    assert 429 in statuses
    refused = client.get(url)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert "api_requests_per_minute" in refused.json()["error"]["message"]


def test_usage_lists_every_quota_with_limit_and_use(tenant_alpha, alpha_owner, tiny):
    do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    found = {row["quota"]: row for row in lifecycle_quotas.usage(tenant_alpha.pk)}
    assert found["users"] == {"quota": "users", "tier": "tiny", "limit": 2, "used": 1}
    assert found["sessions"]["used"] == 1 and found["sessions"]["limit"] == 1
    assert found["metadata_records"]["used"] == 0


def test_tenant_without_lifecycle_or_with_enforcement_off_is_not_limited(
    tenant_alpha, tenant_beta, beta_owner, settings, tiny
):
    for n in range(3):
        do_add_member(tenant_beta, _user(f"b{n}"), Role.MEMBER)
    settings.LIFECYCLE_QUOTAS_ENFORCED = False
    for n in range(3):
        do_add_member(tenant_alpha, _user(f"a{n}"), Role.MEMBER)
    assert Membership.objects.filter(tenant=tenant_alpha).count() == 4
