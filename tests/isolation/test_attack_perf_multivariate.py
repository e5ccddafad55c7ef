"""Red team, the per-tenant multivariate detector (perf_mgr/multivariate.py, trained
through ai_mgr's registry from the data source `perf_mgr.metrics`). A trained a model
on its own metrics, and its champion is warm in this process's loader cache. B, with
metrics of the same names, tries to train on A's rows, to be scored by A's model, or to
replace A's champion by training its own."""

import pytest
from django.utils import timezone

from ai_mgr import loader, sources
from ai_mgr.models import MLModel, ModelAlias
from jobs_mgr import engine
from perf_mgr import multivariate, store
from perf_mgr.tests.insights_helpers import hourly_history, recent
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def write_samples():
    """write(tenant, [(name, labels, value, at_us), ...]), as perf_mgr's tests write."""

    def write(tenant, samples):
        rows = [
            (name, tuple(sorted((labels or {}).items())), "custom", float(value), at)
            for name, labels, value, at in samples
        ]
        with tenant_context(tenant):
            return store.write(rows)

    return write


@pytest.fixture(autouse=True)
def _fresh_loader():
    loader.forget_all()
    yield
    loader.forget_all()


def _history(write_samples, tenant, at, level):
    write_samples(tenant, hourly_history("orders", at, weeks=1, level=level))
    write_samples(tenant, hourly_history("latency", at, weeks=1, level=level / 50, noise=0.05))


def _train(tenant):
    with tenant_context(tenant):
        job = multivariate.do_train(actor="test", send=False)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.state == "succeeded", job.last_error
        model = MLModel.objects.get(name=multivariate.MODEL)
        return ModelAlias.objects.get(model=model, name="champion").version


def test_attack_perf_multivariate_b_trains_and_scores_only_its_own(
    tenant_alpha, tenant_beta, write_samples
):
    at = int(timezone.now().timestamp() * 1e6)
    _history(write_samples, tenant_alpha, at, level=100.0)
    a_champion = _train(tenant_alpha)
    write_samples(tenant_alpha, recent("orders", at, 100.0) + recent("latency", at, 2.0))
    with tenant_context(tenant_alpha):
        assert multivariate.evaluate(at) is not None  # control: A is scored, A's model cached
    # B has the same metric names and recent samples, no history and no model of its own.
    write_samples(tenant_beta, recent("orders", at, 5000.0) + recent("latency", at, 90.0))
    with tenant_context(tenant_beta):
        assert multivariate.evaluate(at) is None  # never A's champion
        # Only B's own recent hour, never A's week of rows (A's orders are ~100).
        assert all(r["orders"] == 5000.0 for r in sources.fetch(multivariate.SOURCE))
        assert not MLModel.objects.filter(name=multivariate.MODEL).exists()
    # B now trains on its own history (a very different level): its rows are its own.
    _history(write_samples, tenant_beta, at, level=5000.0)
    with tenant_context(tenant_beta):
        rows = sources.fetch(multivariate.SOURCE)
        assert rows and all(r["orders"] > 4000 for r in rows)
    b_champion = _train(tenant_beta)
    assert b_champion.pk != a_champion.pk
    with tenant_context(tenant_beta):
        assert multivariate.evaluate(at).version == b_champion.number
    with tenant_context(tenant_alpha):  # A's champion is still A's, and still A's score
        verdict = multivariate.evaluate(at)
        assert verdict is not None and verdict.version == a_champion.number
        # A's own last hour (around 100 and 2), never B's 5000 and 90.
        assert 90 < verdict.observed["orders"] < 110 and verdict.observed["latency"] < 3
        model = MLModel.objects.get(name=multivariate.MODEL)
        assert ModelAlias.objects.get(model=model, name="champion").version_id == a_champion.pk


def test_attack_perf_multivariate_dedicated_a_trains_in_its_database(
    tenant_alpha, tenant_beta, write_samples, dedicate
):
    """A on a database of its own, B pooled: A's training reads A's rows there, B's
    detector stays without a model."""
    dedicate(tenant_alpha)
    at = int(timezone.now().timestamp() * 1e6)
    _history(write_samples, tenant_alpha, at, level=100.0)
    _train(tenant_alpha)
    with tenant_context(tenant_beta):
        assert not MLModel.objects.filter(name=multivariate.MODEL).exists()
        assert multivariate.evaluate(at) is None
