"""The optimiser's applied values are acted on: the cache TTL becomes the tenant's
default TTL in cache_mgr (and its cached pages'), the rate limit throttles the tenant's
API requests with 429 (tenancy.quotas); rolling back restores both. Other tenants are
untouched."""

import pytest
from django.db import transaction

from cache_mgr import config as cache_config
from perf_mgr import optimize
from perf_mgr.tests.test_optimize import _busy
from tenancy import hooks
from tenancy.context import tenant_context
from tenancy.quotas import QuotaExceeded, enforce
from tests.personas import api_as

pytestmark = pytest.mark.django_db
RATE = "api_requests_per_minute"


def _apply(tenant, kind, settings):
    settings.ENABLE_AI_OPTIMIZATION = settings.AUTO_SCALING_ENABLED = True
    with tenant_context(tenant):
        result = optimize.optimize_performance("balanced", auto_apply=False)
        rec = next(r for r in result["recommendations"] if r["kind"] == kind)
        optimize.do_apply_recommendation(rec["id"], actor="alice")
    return rec


def _set_limit(tenant, value):
    with tenant_context(tenant), transaction.atomic():
        optimize._set_tuning("rate_limit_per_minute", value)


def test_applied_cache_ttl_is_the_tenants_default_ttl(
    tenant_alpha, tenant_beta, write_samples, settings
):
    _busy(write_samples, tenant_alpha)
    assert cache_config.default_ttl(tenant_alpha.pk) == cache_config.DEFAULT_TTL
    rec = _apply(tenant_alpha, "cache_ttl", settings)
    assert cache_config.default_ttl(tenant_alpha.pk) == rec["proposed_value"] != 300
    assert cache_config.tuned_ttl(tenant_beta.pk) is None
    with tenant_context(tenant_alpha):
        optimize.do_rollback_recommendation(rec["id"], actor="alice")
    assert cache_config.default_ttl(tenant_alpha.pk) == cache_config.DEFAULT_TTL


def test_applied_cache_ttl_times_entries_stored_without_one(
    tenant_alpha, write_samples, settings, monkeypatch
):
    from cache_mgr import api, tiers

    _busy(write_samples, tenant_alpha)
    rec = _apply(tenant_alpha, "cache_ttl", settings)
    seen = []
    shared = tiers.state().shared
    original = shared.set

    def spy(tenant_id, key, blob, ttl, **kwargs):
        seen.append(ttl)
        return original(tenant_id, key, blob, ttl, **kwargs)

    monkeypatch.setattr(shared, "set", spy)
    with tenant_context(tenant_alpha):
        api.set("k", 1)
        api.set("explicit", 1, 60)
        api.get_or_set("loaded", lambda: 2)
    assert seen == [rec["proposed_value"], 60, rec["proposed_value"]]


def test_applied_rate_limit_throttles_only_that_tenant(tenant_alpha, tenant_beta):
    _set_limit(tenant_alpha, 3)
    for _ in range(3):
        enforce(RATE, tenant_id=tenant_alpha.pk)
    with pytest.raises(QuotaExceeded) as refused:
        enforce(RATE, tenant_id=tenant_alpha.pk)
    assert refused.value.status == 429 and refused.value.limit == 3
    assert refused.value.retry_after >= 1
    for _ in range(5):
        enforce(RATE, tenant_id=tenant_beta.pk)  # no limit applied there
    _set_limit(tenant_alpha, None)  # rolled back: the setting's save is seen at once
    enforce(RATE, tenant_id=tenant_alpha.pk)


def test_applied_rate_limit_answers_429_through_the_api(tenant_alpha, alpha_owner):
    _set_limit(tenant_alpha, 2)
    api = api_as(alpha_owner, tenant_alpha)
    codes = [api.get("/api/v1/ai/models/").status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429


def test_applied_rate_limit_from_the_optimiser(tenant_alpha, write_samples, settings):
    _busy(write_samples, tenant_alpha)
    rec = _apply(tenant_alpha, "rate_limit", settings)
    assert (
        hooks.applied_tuning.call(tenant_alpha.pk, "rate_limit_per_minute")
        == (rec["proposed_value"])
    )
