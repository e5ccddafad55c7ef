"""The AI API: train (a job), models, versions with lineage, promote / rollback with
history and served-at, predict; bad input is a 4xx with its reason, roles hold."""

import pytest
from django.utils import timezone

from ai_mgr import loader, training
from ai_mgr.models import ModelVersion
from ai_mgr.tests.factories import metric_rows
from jobs_mgr import engine
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/ai"
NULLS = [{**r, "cpu": None} for r in metric_rows()]
ROW = {"cpu": 0.4, "latency_ms": 20.0, "rps": 100.0}


@pytest.fixture(autouse=True)
def _fresh_cache():
    loader.forget_all()
    yield
    loader.forget_all()


def _train_via_api(api, tenant, **body):
    body = {
        "model_type": "anomaly_detector",
        "model_name": "detector",
        "training_data": metric_rows(),
        **body,
    }
    response = api.post(f"{BASE}/train/", body, format="json")
    assert response.status_code == 202, response.content
    with tenant_context(tenant):
        engine.run_job(response.json()["job"])
    return response.json()


def test_ai_api_train_list_promote_rollback_served_at(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    job = _train_via_api(api, tenant_alpha)
    assert job["model"] == "detector" and job["kind"] == training.TRAIN
    assert api.get(f"/api/v1/jobs/{job['job']}/").json()["state"] == "succeeded"
    _train_via_api(api, tenant_alpha, training_data=metric_rows(seed=9))
    (model,) = api.get(f"{BASE}/models/").json()["results"]
    assert model["aliases"] == {"champion": 1, "challenger": 2} and model["latest_version"] == 2
    versions = api.get(f"{BASE}/models/detector/versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["data_rows"] == 300 and versions[0]["metrics"]["holdout_rows"] == 60
    assert api.get(f"{BASE}/models/detector/versions/1/").json()["features"] == [
        "cpu",
        "latency_ms",
        "rps",
    ]
    before = timezone.now().isoformat()
    promoted = api.post(
        f"{BASE}/models/detector/promote/", {"version": 2, "reason": "r"}, format="json"
    )
    assert promoted.status_code == 200 and promoted.json()["previous"] == 1
    assert (
        api.post(
            f"{BASE}/predict/", {"model_name": "detector", "input_data": ROW}, format="json"
        ).json()["version"]
        == 2
    )
    assert api.post(f"{BASE}/models/detector/rollback/", {}, format="json").json()["version"] == 1
    served = api.get(f"{BASE}/models/detector/served-at/", {"at": before}).json()
    assert served["version"] == 1 and served["alias"] == "champion"
    history = api.get(f"{BASE}/models/detector/history/").json()["results"]
    assert [h["action"] for h in history][:2] == ["rolled_back", "promoted"]


def test_ai_api_predict_batch_and_custom_alias(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    _train_via_api(api, tenant_alpha)
    api.post(f"{BASE}/models/detector/promote/", {"version": 1, "alias": "canary"}, format="json")
    body = {"model_name": "detector", "input_data": [ROW, ROW], "alias": "canary"}
    result = api.post(f"{BASE}/predict/", body, format="json").json()
    assert len(result["anomaly_scores"]) == 2 and result["alias"] == "canary"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"model_type": "anomaly_detector", "training_data": metric_rows(5)}, "bad_training_data"),
        ({"model_type": "anomaly_detector", "training_data": NULLS}, "bad_training_data"),
        ({"model_type": "crystal_ball", "training_data": metric_rows()}, "not a valid choice"),
        ({"model_type": "anomaly_detector"}, "required"),
    ],
)  # fmt: skip
def test_ai_api_bad_training_is_400(alpha_owner, tenant_alpha, body, code):
    response = api_as(alpha_owner, tenant_alpha).post(f"{BASE}/train/", body, format="json")
    assert response.status_code == 400, response.content
    assert code in response.content.decode()


def test_ai_api_bad_predict_input_and_unknown_alias(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    _train_via_api(api, tenant_alpha)
    wrong = api.post(
        f"{BASE}/predict/", {"model_name": "detector", "input_data": {"cpu": 1}}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "bad_input"
    assert "missing" in wrong.json()["error"]["message"]
    alias = api.post(
        f"{BASE}/predict/",
        {"model_name": "detector", "input_data": ROW, "alias": "nope"},
        format="json",
    )
    assert alias.status_code == 404  # the API's one 404 body (tenancy.api.errors)
    version = api.post(f"{BASE}/models/detector/promote/", {"version": 7}, format="json")
    assert version.status_code == 404
    nothing = api.post(f"{BASE}/models/detector/rollback/", {"alias": "challenger"}, format="json")
    assert nothing.status_code == 404
    first = api.post(f"{BASE}/models/detector/rollback/", {}, format="json")
    assert first.status_code == 400 and first.json()["error"]["code"] == "nothing_to_roll_back"
    assert api.get(f"{BASE}/models/detector/served-at/").status_code == 400


def test_ai_api_tampered_artifact_is_409_and_champion_serves(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    _train_via_api(api, tenant_alpha)
    _train_via_api(api, tenant_alpha, training_data=metric_rows(seed=2))
    with tenant_context(tenant_alpha):
        ModelVersion.objects.filter(number=2).update(signature="0" * 64)
    body = {"model_name": "detector", "input_data": ROW, "alias": "challenger"}
    refused = api.post(f"{BASE}/predict/", body, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "tampered_artifact"
    body.pop("alias")
    assert api.post(f"{BASE}/predict/", body, format="json").json()["version"] == 1


def test_ai_api_roles(alpha_viewer, alpha_owner, tenant_alpha):
    _train_via_api(api_as(alpha_owner, tenant_alpha), tenant_alpha)
    viewer = api_as(alpha_viewer, tenant_alpha)
    assert viewer.get(f"{BASE}/models/").status_code == 200
    assert (
        viewer.post(
            f"{BASE}/predict/", {"model_name": "detector", "input_data": ROW}, format="json"
        ).status_code
        == 403
    )
    assert (
        viewer.post(f"{BASE}/models/detector/promote/", {"version": 1}, format="json").status_code
        == 403
    )
    body = {"model_type": "anomaly_detector", "training_data": metric_rows()}
    assert viewer.post(f"{BASE}/train/", body, format="json").status_code == 403
