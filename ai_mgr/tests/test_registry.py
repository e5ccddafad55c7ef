"""The registry: training makes versions with lineage, the first one champion; promote
and rollback move aliases with an audit entry and a history answering "which version
served at D"; bad data, bad input, unknown names and tampered artifacts are typed
errors, and the champion keeps serving."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ai_mgr import actions, inference, loader, selectors, training
from ai_mgr.exceptions import (
    BadInput,
    BadTrainingData,
    TamperedArtifact,
    UnknownAlias,
    UnknownKind,
    UnknownModel,
)
from ai_mgr.models import AliasEvent, ModelVersion
from ai_mgr.tests.factories import metric_rows, regression_rows
from audit_mgr.models import AuditEntry
from jobs_mgr import engine
from jobs_mgr.models import Job, JobState
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    loader.forget_all()
    yield
    loader.forget_all()


def _train(**kwargs):
    kwargs.setdefault("model_type", "anomaly_detector")
    kwargs.setdefault("training_data", metric_rows())
    return training.train_now(**kwargs)


def _events(name):
    import audit_mgr

    audit_mgr.flush()
    rows = AuditEntry.objects.filter(event=name).values_list("data", flat=True)
    return [json.loads(data)["payload"] for data in rows]


def test_registry_training_records_lineage_and_first_version_is_champion(tenant_alpha):
    with tenant_context(tenant_alpha):
        result = _train(model_name="detector", actor="alice")
        assert (result["version"], result["alias"]) == (1, "champion")
        version = ModelVersion.objects.get(model__name="detector", number=1)
        assert version.features == ["cpu", "latency_ms", "rps"]
        assert version.data_rows == 300 and len(version.data_fingerprint) == 64
        assert version.data_from < version.data_to and version.trained_by == "alice"
        assert version.metrics["holdout_rows"] == 60 and version.code_version
        assert version.params == {} and version.storage == "db" and version.size > 0
        assert _train(model_name="detector")["alias"] == "challenger"
        model = selectors.access_model("detector")
        assert selectors.aliases_of(model) == {"champion": 1, "challenger": 2}


def test_registry_same_data_same_fingerprint(tenant_alpha):
    with tenant_context(tenant_alpha):
        _train(model_name="a")
        _train(model_name="a")
        fingerprints = set(ModelVersion.objects.values_list("data_fingerprint", flat=True))
        assert len(fingerprints) == 1


def test_registry_predict_scores_one_row_and_batches(tenant_alpha):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        calm = {"cpu": 0.4, "latency_ms": 20.0, "rps": 100.0}
        wild = {"cpu": 0.99, "latency_ms": 900.0, "rps": 3.0}
        one = inference.predict("detector", calm)
        assert one["version"] == 1 and one["alias"] == "champion"
        assert one["anomaly_score"] == -one["raw_score"]
        batch = inference.predict("detector", [calm, wild])
        assert batch["anomaly_scores"][1] > batch["anomaly_scores"][0]
        assert inference.predict("detector", [[0.4, 20.0, 100.0]])["raw_scores"][
            0
        ] == pytest.approx(one["raw_score"], abs=1e-12)


def test_registry_linear_kind_predicts(tenant_alpha):
    with tenant_context(tenant_alpha):
        training.train_now(model_type="performance_predictor", training_data=regression_rows())
        result = inference.predict("performance_predictor", {"rps": 100.0, "cpu": 0.5})
        assert result["prediction"] == pytest.approx(220.0, abs=1e-6)
        assert ModelVersion.objects.get().metrics["mae"] < 1e-6


def test_registry_promote_rollback_audited_and_served_at(tenant_alpha):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        _train(model_name="detector", training_data=metric_rows(seed=5))
        before = timezone.now()
        actions.promote("detector", 2, actor="bob", reason="better holdout")
        assert (
            inference.predict("detector", {"cpu": 0.4, "latency_ms": 20, "rps": 100})["version"]
            == 2
        )
        actions.rollback("detector", actor="bob", reason="regression")
        assert (
            inference.predict("detector", {"cpu": 0.4, "latency_ms": 20, "rps": 100})["version"]
            == 1
        )
        model = selectors.access_model("detector")
        assert selectors.served_at(model, before).version.number == 1
        after_promote = AliasEvent.objects.get(
            action="promoted", alias="champion", version__number=2
        ).at
        assert selectors.served_at(model, after_promote).version.number == 2
        assert selectors.served_at(model, timezone.now()).version.number == 1
        assert selectors.served_at(model, before - timedelta(days=1)) is None
        promoted = _events("ai.model.promoted")
        assert {"model": "detector", "alias": "champion", "version": 2, "previous": 1,
                "reason": "better holdout"} in promoted  # fmt: skip
        (rolled,) = _events("ai.model.rolled_back")
        assert (rolled["version"], rolled["previous"]) == (1, 2)


def test_registry_custom_alias(tenant_alpha):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        actions.promote("detector", 1, alias="canary-eu", actor="ops")
        row = {"cpu": 0.4, "latency_ms": 20, "rps": 100}
        assert inference.predict("detector", row, alias="canary-eu")["version"] == 1
        with pytest.raises(UnknownAlias):
            inference.predict("detector", row, alias="nope")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (metric_rows(5), "too few rows"),
        ([{**r, "cpu": float("nan")} for r in metric_rows()], "NaN"),
        ([{**r, "cpu": "high"} for r in metric_rows()], "must be a number"),
        ("not rows", "give a list of rows"),
        ([{"cpu": 1}] * 30 + [{"rps": 2}], "missing"),
    ],
)
def test_registry_bad_training_data_is_typed_and_champion_stays(tenant_alpha, data, reason):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        with pytest.raises(BadTrainingData, match=reason):
            _train(model_name="detector", training_data=data)
        assert ModelVersion.objects.count() == 1
        assert (
            inference.predict("detector", {"cpu": 0.4, "latency_ms": 20, "rps": 100})["version"]
            == 1
        )


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({"cpu": 0.4, "latency_ms": 20}, "missing"),
        ({"cpu": 0.4, "latency_ms": 20, "rps": 1, "disk": 3}, "unexpected"),
        ({"cpu": float("nan"), "latency_ms": 20, "rps": 1}, "NaN"),
        ([[1.0, 2.0]], "needs 3 values"),
        ({"cpu": "x", "latency_ms": 20, "rps": 1}, "number"),
    ],
)
def test_registry_predict_wrong_input_is_bad_input(tenant_alpha, given, reason):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        with pytest.raises(BadInput, match=reason):
            inference.predict("detector", given)


def test_registry_unknown_model_and_kind(tenant_alpha):
    with tenant_context(tenant_alpha):
        with pytest.raises(UnknownModel):
            inference.predict("nothing", {"a": 1})
        with pytest.raises(UnknownKind):
            _train(model_type="crystal_ball")


def test_registry_tampered_artifact_refused(tenant_alpha):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        _train(model_name="detector", training_data=metric_rows(seed=3))
        row = {"cpu": 0.4, "latency_ms": 20, "rps": 100}
        inference.predict("detector", row)
        version = ModelVersion.objects.get(number=2)
        data = bytearray(bytes(version.artifact))
        data[-30] ^= 0x01
        ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(data))
        with pytest.raises(TamperedArtifact):
            inference.predict("detector", row, alias="challenger")
        assert inference.predict("detector", row)["version"] == 1  # the champion serves
        # Re-signed with a checksum that matches but no key: still refused.
        from ai_mgr import artifacts

        ModelVersion.objects.filter(pk=version.pk).update(checksum=artifacts.checksum(bytes(data)))
        with pytest.raises(TamperedArtifact, match="not signed"):
            inference.predict("detector", row, alias="challenger")


def test_registry_artifact_of_another_version_refused(tenant_alpha):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        _train(model_name="detector", training_data=metric_rows(seed=3))
        one, two = ModelVersion.objects.order_by("number")
        ModelVersion.objects.filter(pk=two.pk).update(
            artifact=one.artifact, checksum=one.checksum, signature=one.signature
        )
        with pytest.raises(TamperedArtifact):
            inference.predict(
                "detector", {"cpu": 0.4, "latency_ms": 20, "rps": 1}, alias="challenger"
            )


def test_registry_file_storage(tenant_alpha, settings, tmp_path):
    settings.AI_ARTIFACT_STORAGE = "file"
    settings.AI_ARTIFACT_ROOT = str(tmp_path)
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        version = ModelVersion.objects.get()
        assert version.storage == "file" and version.artifact is None
        assert (tmp_path / version.artifact_ref).exists()
        assert (
            inference.predict("detector", {"cpu": 0.4, "latency_ms": 20, "rps": 100})["version"]
            == 1
        )
        (tmp_path / version.artifact_ref).write_bytes(b"PK\x03\x04 forged")
        loader.forget_all()
        with pytest.raises(TamperedArtifact):
            inference.predict("detector", {"cpu": 0.4, "latency_ms": 20, "rps": 100})


def test_registry_delete_model_removes_versions_history_and_files(
    tenant_alpha, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AI_ARTIFACT_STORAGE = "file"
    settings.AI_ARTIFACT_ROOT = str(tmp_path)
    row = {"cpu": 0.4, "latency_ms": 20, "rps": 100}
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        _train(model_name="detector", training_data=metric_rows(seed=3))
        _train(model_name="kept")
        assert inference.predict("detector", row)["version"] == 1  # cached in process
        refs = list(
            ModelVersion.objects.filter(model__name="detector").values_list(
                "artifact_ref", flat=True
            )
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert actions.delete_model("detector", actor="ops", reason="erasure") == 2
        assert not any((tmp_path / ref).exists() for ref in refs)
        assert not ModelVersion.objects.filter(model__name="detector").exists()
        assert not AliasEvent.objects.filter(model__name="detector").exists()
        with pytest.raises(UnknownModel):
            inference.predict("detector", row)
        assert inference.predict("kept", row)["version"] == 1
        assert _events("ai.model.deleted") == [
            {"model": "detector", "versions": 2, "reason": "erasure"}
        ]
        assert actions.delete_model("detector") == 0  # idempotent


def test_registry_promotion_invalidates_cache_on_commit(
    tenant_alpha, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_alpha):
        _train(model_name="detector")
        _train(model_name="detector", training_data=metric_rows(seed=3))
        row = {"cpu": 0.4, "latency_ms": 20, "rps": 100}
        assert inference.predict("detector", row)["version"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            actions.promote("detector", 2)
        assert inference.predict("detector", row)["version"] == 2


def test_registry_training_job_progress_and_failure_keeps_champion(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = training.train_model(
            model_type="anomaly_detector", model_name="d", training_data=metric_rows()
        )
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED and (job.progress_done, job.progress_total) == (2, 2)
        assert job.result["version"] == 1
        with pytest.raises(BadTrainingData):
            training.train_model(
                model_type="anomaly_detector", model_name="d", training_data=metric_rows(3)
            )
        # Data that passes the request's check but fails in the worker (a kind mismatch).
        bad = training.train_model(
            model_type="anomaly_detector", model_name="d", training_data=metric_rows()
        )
        Job.objects.filter(pk=bad.pk).update(params={**bad.params, "model_type": "load_forecaster"})
        engine.run_job(bad.pk)
        bad.refresh_from_db()
        assert bad.state == JobState.FAILED and "missing target" in bad.last_error
        assert inference.predict("d", {"cpu": 0.4, "latency_ms": 20, "rps": 100})["version"] == 1
