"""The seed's AI example (shared/seeds, "AI Manager"), run as written inside a tenant's
context, and the registry facade (MLModelManager)."""

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from ai_mgr import loader
from ai_mgr.exceptions import BadInput, UnknownModel
from ai_mgr.tests.factories import metric_rows, regression_rows
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    loader.forget_all()
    yield
    loader.forget_all()


async def seed_example(historical_data, current_metrics):
    from managers import AIManager, MLModelManager  # noqa: F401  (as the seed)

    # AI-powered insights
    ai_manager = AIManager()
    await ai_manager.train_model(model_type="performance_predictor", training_data=historical_data)

    # Predictions
    prediction = await ai_manager.predict(model_name="load_forecasting", input_data=current_metrics)
    return prediction


def test_facade_seed_ai_example_runs_as_written(tenant_alpha):
    from managers import AIManager

    historical_data = regression_rows()
    current_metrics = {"rps": 50.0, "cpu": 0.2}
    with tenant_context(tenant_alpha):
        AIManager().train_model_sync("load_forecasting", historical_data)
        prediction = async_to_sync(seed_example)(historical_data, current_metrics)
    assert prediction["prediction"] == pytest.approx(2 * 50 + 30 * 0.2 + 5, abs=1e-6)
    assert prediction["model"] == "load_forecasting" and prediction["version"] == 1


def test_facade_registry_promote_rollback_served_at(tenant_alpha, tenant_beta):
    from managers import AIManager, MLModelManager

    ai = AIManager(tenant_alpha.slug)
    first = ai.train_model_sync("anomaly_detector", metric_rows(), model_name="d")
    assert (first["version"], first["alias"]) == (1, "champion")
    ai.train_model_sync("anomaly_detector", metric_rows(seed=2), model_name="d")
    registry = MLModelManager(tenant_alpha.pk)
    before = timezone.now()
    assert registry.promote_sync("d", 2, actor="ops")["version"] == 2
    assert registry.served_at_sync("d", before) == 1
    assert registry.rollback_sync("d")["version"] == 1
    assert [v["number"] for v in registry.list_versions_sync("d")] == [2, 1]
    row = {"cpu": 0.4, "latency_ms": 20, "rps": 100}
    assert ai.predict_sync("d", row)["version"] == 1
    with pytest.raises(BadInput):
        ai.predict_sync("d", {"cpu": 1})
    with pytest.raises(UnknownModel):
        AIManager(tenant_beta.slug).predict_sync("d", row)
    assert MLModelManager(tenant_beta.slug).list_models_sync() == []
