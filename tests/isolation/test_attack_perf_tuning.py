"""Red team, the applied tuning (perf_mgr/tuning.py, the `applied_tuning` hook read by
cache_mgr's default TTL and by the API's tuned request limit). Tenant B's admin writes
`performance.tuning` itself through the settings API, with tiny, absurd or hostile
values: they may hurt B's own service (its own rate limit), never A's TTL or A's API."""

import pytest

from cache_mgr import config as cache_config
from tenancy import hooks
from tests.personas import api_as

pytestmark = pytest.mark.django_db
SETTINGS = "/api/v1/settings/"
PROBE = "/api/v1/ai/models/"


def _set_tuning(client, value) -> None:
    response = client.post(SETTINGS, {"key": "performance.tuning", "value": value}, format="json")
    assert response.status_code == 201, response.content


def test_attack_tuning_b_rate_limit_of_one_throttles_only_b(
    tenant_alpha, tenant_beta, alpha_owner, beta_admin, member_of_both
):
    beta = api_as(beta_admin, tenant_beta)
    _set_tuning(beta, {"rate_limit_per_minute": 1, "cache_ttl_seconds": 1})
    # B throttles itself (its own choice) ...
    assert [beta.get(PROBE).status_code for _ in range(3)][1:] == [429, 429]
    # ... never A: neither A's own user nor a user of both naming A in the same process.
    alpha = api_as(alpha_owner, tenant_alpha)
    assert {alpha.get(PROBE).status_code for _ in range(5)} == {200}
    both = api_as(member_of_both, tenant_alpha)
    assert {both.get(PROBE).status_code for _ in range(3)} == {200}
    assert hooks.applied_tuning.call(tenant_alpha.pk, "rate_limit_per_minute") is None
    assert cache_config.default_ttl(tenant_alpha.pk) == cache_config.DEFAULT_TTL
    assert cache_config.default_ttl(tenant_beta.pk) == 1.0  # positive control: B's applies


@pytest.mark.parametrize(
    "value",
    [
        {"cache_ttl_seconds": -5, "rate_limit_per_minute": -1},
        {"cache_ttl_seconds": 0, "rate_limit_per_minute": 0},
        {"cache_ttl_seconds": "1", "rate_limit_per_minute": True},
        {"cache_ttl_seconds": [1], "rate_limit_per_minute": {"x": 1}},
    ],
    ids=["negative", "zero", "wrong-types", "containers"],
)
def test_attack_tuning_b_absurd_values_are_ignored(tenant_alpha, tenant_beta, beta_admin, value):
    beta = api_as(beta_admin, tenant_beta)
    _set_tuning(beta, value)
    for tenant in (tenant_alpha, tenant_beta):
        assert hooks.applied_tuning.call(tenant.pk, "rate_limit_per_minute") is None
        assert cache_config.default_ttl(tenant.pk) == cache_config.DEFAULT_TTL
    assert {beta.get(PROBE).status_code for _ in range(3)} == {200}  # not a zero limit


def test_attack_tuning_b_memo_is_not_a_cached_for_b(
    tenant_alpha, tenant_beta, alpha_owner, beta_admin
):
    """A's value is in the process memo first; B's read of its own knob is B's."""
    _set_tuning(api_as(alpha_owner, tenant_alpha), {"cache_ttl_seconds": 77})
    assert cache_config.default_ttl(tenant_alpha.pk) == 77.0
    assert cache_config.default_ttl(tenant_beta.pk) == cache_config.DEFAULT_TTL
    _set_tuning(api_as(beta_admin, tenant_beta), {"cache_ttl_seconds": 5})
    assert (
        cache_config.default_ttl(tenant_alpha.pk),
        cache_config.default_ttl(tenant_beta.pk),
    ) == (
        77.0,
        5.0,
    )


def test_attack_tuning_b_huge_ttl_does_not_break_a_cache(
    tenant_alpha, tenant_beta, alpha_owner, beta_admin
):
    """A TTL beyond the cache's maximum is B's problem at most, never A's."""
    from cache_mgr import api as cache
    from tenancy.context import tenant_context

    _set_tuning(api_as(beta_admin, tenant_beta), {"cache_ttl_seconds": 10**12})
    with tenant_context(tenant_alpha):
        assert cache.set("k", "v") is not False
        assert cache.get("k") == "v"
    # Not even B's own: a TTL the cache would refuse is ignored (the default applies),
    # not a failing write on each of B's cached reads.
    assert cache_config.default_ttl(tenant_beta.pk) == cache_config.DEFAULT_TTL
    with tenant_context(tenant_beta):
        assert cache.set("k", "v") is not False
        assert cache.get("k") == "v"


def test_attack_tuning_dedicated_a_applies_its_own_and_b_stays_untouched(
    tenant_alpha, tenant_beta, dedicate, settings
):
    """A on a database of its own: the optimiser's apply (a row lock on A's setting and
    recommendation) runs in A's database; B's knobs stay unset."""
    from perf_mgr.tests.test_optimize import _busy
    from perf_mgr.tests.test_tuning_applied import _apply

    dedicate(tenant_alpha)
    from perf_mgr import store
    from tenancy.context import tenant_context

    def write_samples(tenant, samples):
        rows = [
            (n, tuple(sorted((lb or {}).items())), "custom", float(v), at)
            for n, lb, v, at in samples
        ]
        with tenant_context(tenant):
            return store.write(rows)

    _busy(write_samples, tenant_alpha)
    rec = _apply(tenant_alpha, "rate_limit", settings)
    assert (
        hooks.applied_tuning.call(tenant_alpha.pk, "rate_limit_per_minute")
        == (rec["proposed_value"])
    )
    assert hooks.applied_tuning.call(tenant_beta.pk, "rate_limit_per_minute") is None
