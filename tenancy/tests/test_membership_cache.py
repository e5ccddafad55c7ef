"""The process-local membership copy: trusted only with a healthy listener, dropped at
once in the writing process and over pub/sub in the others."""

import time

import pytest

from tenancy import membership_cache
from tenancy.context import tenant_context
from tenancy.membership_cache import MembershipMessage
from tenancy.models import Membership, Role
from tenancy.resolution import memberships_of
from tests.markers import redis_only

pytestmark = pytest.mark.django_db
needs_redis = redis_only("the copy exists only with Redis pub/sub")


def _wait_healthy():
    membership_cache.listener.start()
    deadline = time.monotonic() + 10
    while not membership_cache.listener.healthy and time.monotonic() < deadline:
        time.sleep(0.02)
    assert membership_cache.listener.healthy


@needs_redis
def test_membership_cache_serves_repeats_from_memory(
    alpha_owner, tenant_alpha, django_assert_num_queries
):
    _wait_healthy()
    membership_cache.apply("M")
    first = memberships_of(alpha_owner)
    hits = membership_cache.stats["hits"]
    with django_assert_num_queries(0):
        assert memberships_of(alpha_owner) is first
    assert membership_cache.stats["hits"] == hits + 1


@needs_redis
def test_membership_cache_drops_a_changed_membership_at_once(
    alpha_owner, tenant_alpha, tenant_beta
):
    _wait_healthy()
    assert [m.tenant.slug for m in memberships_of(alpha_owner)] == ["alpha"]
    with tenant_context(tenant_beta):  # memberships are written in their tenant's context
        Membership.objects.create(user=alpha_owner, tenant=tenant_beta, role=Role.VIEWER)
    assert [m.tenant.slug for m in memberships_of(alpha_owner)] == ["alpha", "beta"]
    with tenant_context(tenant_beta):
        Membership.objects.filter(user=alpha_owner, tenant=tenant_beta).get().delete()
    assert [m.tenant.slug for m in memberships_of(alpha_owner)] == ["alpha"]


@needs_redis
def test_membership_cache_message_from_another_process_drops_the_user(alpha_owner, tenant_alpha):
    _wait_healthy()
    memberships_of(alpha_owner)
    assert membership_cache._local.get(alpha_owner.pk) is not None
    # What another process publishes after its commit: this process's listener applies it.
    membership_cache._publish([alpha_owner.pk])
    deadline = time.monotonic() + 10
    while membership_cache._local.get(alpha_owner.pk) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert membership_cache._local.get(alpha_owner.pk) is None


def test_membership_cache_is_not_trusted_without_a_healthy_listener(alpha_owner, monkeypatch):
    monkeypatch.setattr(membership_cache.listener, "healthy", False)
    monkeypatch.setattr(membership_cache.listener, "start", lambda: False)
    memberships_of(alpha_owner)
    assert membership_cache.lookup(alpha_owner.pk) is None
    assert alpha_owner.pk not in membership_cache._local


def test_membership_cache_rejects_malformed_messages():
    assert not membership_cache.apply("m|x")
    assert not membership_cache.apply("nonsense")
    assert not membership_cache.apply("m|1|2")
    assert not membership_cache.apply("M|1")
    assert membership_cache.apply("m|12") and membership_cache.apply("M")


def test_membership_cache_load_that_raced_a_drop_is_not_kept(alpha_owner, monkeypatch):
    monkeypatch.setattr(membership_cache.listener, "healthy", True)
    before = membership_cache.epoch()
    # A change lands while we were loading:
    membership_cache.apply(MembershipMessage(alpha_owner.pk).to_wire())
    membership_cache.remember(alpha_owner.pk, ["stale"], before)
    assert alpha_owner.pk not in membership_cache._local
