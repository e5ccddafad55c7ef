"""Attacks on the AI registry (ai_mgr) by a second tenant: tenant B can neither load,
predict with, promote nor roll back A's model, through the API, the ORM, raw SQL as the
runtime role, or a Celery task (a training job) carrying A's ids. A model of the same
name in both tenants stays two models, and an artifact copied from A's version into B's
is refused (signed with A's key)."""

from __future__ import annotations

import pytest
from django.db import connection

from ai_mgr import actions, inference, loader, training
from ai_mgr.exceptions import TamperedArtifact, UnknownModel
from ai_mgr.models import AliasEvent, MLModel, ModelAlias, ModelVersion
from ai_mgr.tests.factories import metric_rows
from jobs_mgr import engine
from jobs_mgr.tasks import run_job_task
from tenancy.context import tenant_context
from tests.markers import postgres_only
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/ai"
AT = "?at=2030-01-01T00:00:00Z"
ROW = {"cpu": 0.4, "latency_ms": 20.0, "rps": 100.0}


@pytest.fixture(autouse=True)
def _fresh_cache():
    loader.forget_all()
    yield
    loader.forget_all()


def _trained(tenant, name="detector", seed=0):
    with tenant_context(tenant):
        training.train_now(
            model_type="anomaly_detector", model_name=name, training_data=metric_rows(seed=seed)
        )
        training.train_now(
            model_type="anomaly_detector", model_name=name, training_data=metric_rows(seed=seed + 1)
        )
        return MLModel.objects.get(name=name)


def test_attack_ai_orm_and_loader_cannot_reach_other_tenant(tenant_alpha, tenant_beta):
    model = _trained(tenant_alpha)
    with tenant_context(tenant_alpha):
        version_ids = list(ModelVersion.objects.values_list("pk", flat=True))
        inference.predict("detector", ROW)  # A's cache holds A's champion
    with tenant_context(tenant_beta):
        assert not MLModel.objects.filter(pk=model.pk).exists()
        assert not ModelVersion.objects.filter(pk__in=version_ids).exists()
        assert not ModelAlias.objects.exists() and not AliasEvent.objects.exists()
        with pytest.raises(UnknownModel):
            inference.predict("detector", ROW)
        with pytest.raises(UnknownModel):
            actions.promote("detector", 2)
        with pytest.raises(UnknownModel):
            actions.rollback("detector")
    with tenant_context(tenant_alpha):
        assert ModelAlias.objects.get(name="champion").version.number == 1


def test_attack_ai_same_name_in_two_tenants_stays_two_models(tenant_alpha, tenant_beta):
    _trained(tenant_alpha, seed=0)
    _trained(tenant_beta, seed=40)
    with tenant_context(tenant_alpha):
        a = inference.predict("detector", ROW)["raw_score"]
    with tenant_context(tenant_beta):
        b = inference.predict("detector", ROW)["raw_score"]
        actions.promote("detector", 2)
    with tenant_context(tenant_alpha):
        assert inference.predict("detector", ROW) == {
            **inference.predict("detector", ROW),
            "version": 1,
        }
        assert inference.predict("detector", ROW)["raw_score"] == a
    assert a != b


def test_attack_ai_artifact_copied_from_other_tenant_refused(tenant_alpha, tenant_beta):
    _trained(tenant_alpha, seed=0)
    _trained(tenant_beta, seed=40)
    with tenant_context(tenant_alpha):
        source = ModelVersion.objects.get(number=1)
        stolen = (bytes(source.artifact), source.checksum, source.signature)
    with tenant_context(tenant_beta):
        ModelVersion.objects.filter(number=1).update(
            artifact=stolen[0], checksum=stolen[1], signature=stolen[2]
        )
        with pytest.raises(TamperedArtifact):
            inference.predict("detector", ROW)


def test_attack_ai_api_other_tenants_model_is_the_missing_404(
    alpha_owner, beta_owner, tenant_alpha, tenant_beta
):
    _trained(tenant_alpha)
    beta = api_as(beta_owner, tenant_beta)
    pairs = [
        ("get", "models/detector/", "models/never-was/", None),
        ("get", "models/detector/versions/", "models/never-was/versions/", None),
        ("get", "models/detector/versions/1/", "models/never-was/versions/1/", None),
        ("get", "models/detector/history/", "models/never-was/history/", None),
        ("get", f"models/detector/served-at/{AT}", f"models/never-was/served-at/{AT}", None),
        ("post", "models/detector/promote/", "models/never-was/promote/", {"version": 2}),
        ("post", "models/detector/rollback/", "models/never-was/rollback/", {}),
    ]  # fmt: skip
    for method, foreign, missing, body in pairs:
        a = getattr(beta, method)(f"{BASE}/{foreign}", body, format="json")
        b = getattr(beta, method)(f"{BASE}/{missing}", body, format="json")
        assert a.status_code == b.status_code == 404, (foreign, a.content)
        assert a.content == b.content
    foreign = beta.post(
        f"{BASE}/predict/", {"model_name": "detector", "input_data": ROW}, format="json"
    )
    missing = beta.post(
        f"{BASE}/predict/", {"model_name": "never-was", "input_data": ROW}, format="json"
    )
    assert foreign.status_code == missing.status_code == 404 and foreign.content == missing.content
    assert beta.get(f"{BASE}/models/").json()["results"] == []
    with tenant_context(tenant_alpha):
        assert ModelAlias.objects.get(name="champion").version.number == 1
        assert not AliasEvent.objects.filter(actor=beta_owner.get_username()).exists()


def test_attack_ai_training_job_id_of_other_tenant_does_nothing(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        job = training.train_model(
            model_type="anomaly_detector", model_name="d", training_data=metric_rows()
        )
    with tenant_context(tenant_beta):
        # The worker's message carries the sender's tenant: B's message naming A's job.
        assert run_job_task.apply(args=(job.pk,)).get()["state"] is None
        assert engine.claim(job.pk) is None
        assert not MLModel.objects.exists()
    with tenant_context(tenant_alpha):
        assert not MLModel.objects.exists()
        job.refresh_from_db()
        assert job.state == "queued"


@postgres_only("row-level security on the runtime role's connection")
def test_attack_ai_raw_sql_as_runtime_role_sees_and_changes_nothing(tenant_alpha, tenant_beta):
    model = _trained(tenant_alpha)
    with tenant_context(tenant_alpha):
        version_id = ModelVersion.objects.get(number=2).pk
    with tenant_context(tenant_beta), connection.cursor() as cursor:
        for table in (
            "ai_mgr_mlmodel",
            "ai_mgr_modelversion",
            "ai_mgr_modelalias",
            "ai_mgr_aliasevent",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  (fixed names)
            assert cursor.fetchone()[0] == 0
        cursor.execute(
            "UPDATE ai_mgr_modelalias SET version_id = %s WHERE model_id = %s",
            [version_id, model.pk],
        )
        assert cursor.rowcount == 0
        cursor.execute("UPDATE ai_mgr_modelversion SET artifact = %s", [b"x"])
        assert cursor.rowcount == 0
    with tenant_context(tenant_alpha):
        assert ModelAlias.objects.get(name="champion").version.number == 1
        assert inference.predict("detector", ROW)["version"] == 1


def test_attack_ai_search_encoder_of_other_tenant_cannot_be_loaded(
    tenant_alpha, tenant_beta, settings
):
    """The metadata search encoder (fitted on A's words, versioned in A's registry):
    B's loader, B's search and B's erasure never reach it, and A's artifact copied into
    B's version is refused."""
    from metadata_mgr import search_engine
    from metadata_mgr.actions import do_create_record
    from metadata_mgr.search import encoder_registry
    from tenancy import hooks

    settings.METADATA_SEARCH_ENCODER = "tfidf"
    name = encoder_registry.MODEL
    with tenant_context(tenant_alpha):
        do_create_record(metadata_type="business", content={"k": "parcel tracking"}, name="p")
        search_engine.catch_up()
        source = ModelVersion.objects.get(model__name=name)
        stolen = (bytes(source.artifact), source.checksum, source.signature)
        alpha_encoder = search_engine.current_encoder().name
    with tenant_context(tenant_beta):
        with pytest.raises(UnknownModel):
            loader.load(name)
        assert encoder_registry.champion(tenant_beta.pk, fresh=True) is None
        assert "parcel" not in search_engine.current_encoder().vocabulary
        do_create_record(metadata_type="business", content={"k": "weather report"}, name="w")
        search_engine.catch_up()
        encoder = search_engine.current_encoder()
        assert "parcel" not in encoder.vocabulary and encoder.name != alpha_encoder
        ModelVersion.objects.filter(model__name=name).update(
            artifact=stolen[0], checksum=stolen[1], signature=stolen[2]
        )
        loader.forget_all()
        encoder_registry.forget()
        with pytest.raises(TamperedArtifact):
            loader.load(name)
        hooks.drop_search_index.call(None)
        assert not MLModel.objects.exists()
    with tenant_context(tenant_alpha):
        assert ModelVersion.objects.filter(model__name=name).count() == 1
        loader.forget_all()
        assert search_engine.current_encoder().name == alpha_encoder
