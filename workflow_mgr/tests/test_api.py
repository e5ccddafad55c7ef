"""The workflows API: list (filters, pages), detail with steps, start, cancel, signal,
retry, compensate; bad input is a 4xx with reasons; roles; another tenant's run is a
404 exactly like a missing one, and it cannot be signalled."""

import pytest

from tenancy.context import tenant_context
from tests.personas import api_as
from workflow_mgr.models import RunState, WorkflowRun
from workflow_mgr.tests.helpers import short

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workflows"


@pytest.fixture
def flush(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def test_start_list_and_detail(alpha_owner, tenant_alpha, flush):
    api = api_as(alpha_owner, tenant_alpha)
    created = flush(
        api.post, f"{BASE}/", {"definition": "t.three", "input": {"n": 1}}, format="json"
    )
    assert created.status_code == 201, created.content
    run_id = created.json()["id"]
    flush(api.post, f"{BASE}/", {"definition": "t.approval"}, format="json")
    listed = api.get(f"{BASE}/").json()
    assert listed["count"] == 2 and {r["name"] for r in listed["results"]} == {
        "t.three",
        "t.approval",
    }
    waiting = api.get(f"{BASE}/?state=waiting").json()["results"]
    assert [r["name"] for r in waiting] == ["t.approval"] and waiting[0][
        "progress"
    ] == pytest.approx(1 / 3)
    assert api.get(f"{BASE}/?name=t.three").json()["count"] == 1
    assert api.get(f"{BASE}/?page_size=1").json()["results"].__len__() == 1
    detail = api.get(f"{BASE}/{run_id}/").json()
    assert detail["state"] == "succeeded" and detail["progress"] == 1.0
    assert [s["name"] for s in detail["steps"]] == ["a", "b", "c"]
    assert detail["steps"][0]["idempotency_key"] == f"{run_id}:action:a"
    assert "lease_token" not in detail["steps"][0]
    bad = api.get(f"{BASE}/?state=sleeping")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_an_invalid_definition_is_a_400_with_reasons(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    body = {"definition": {"name": "x", "steps": [
        {"name": "a", "action": "nope"},
        {"name": "b", "action": "t.make", "after": ["c"]},
    ]}}  # fmt: skip
    response = api.post(f"{BASE}/", body, format="json")
    assert response.status_code == 400
    text = response.content.decode()
    assert "unknown action" in text and "has no compensation" in text and "unknown step" in text
    with tenant_context(tenant_alpha):
        assert not WorkflowRun.objects.exists()


def test_signal_cancel_retry_compensate(alpha_owner, tenant_alpha, flush):
    api = api_as(alpha_owner, tenant_alpha)
    run_id = flush(api.post, f"{BASE}/", {"definition": "t.approval"}, format="json").json()["id"]
    unknown = api.post(f"{BASE}/{run_id}/signal/", {"name": "nope"}, format="json")
    assert unknown.status_code == 409 and unknown.json()["error"]["code"] == "unknown_signal"
    assert api.post(f"{BASE}/{run_id}/signal/", {"payload": []}, format="json").status_code == 400
    signalled = flush(api.post, f"{BASE}/{run_id}/signal/", {"name": "approved"}, format="json")
    assert signalled.status_code == 202  # the last step runs after the response's commit
    assert api.get(f"{BASE}/{run_id}/").json()["state"] == "succeeded"
    finished = api.post(f"{BASE}/{run_id}/cancel/")
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "run_finished"
    assert api.post(f"{BASE}/{run_id}/retry/").status_code == 409

    manual = flush(api.post, f"{BASE}/", {"definition": "t.fails_third_manual"}, format="json")
    manual_id = manual.json()["id"]
    assert api.get(f"{BASE}/{manual_id}/").json()["state"] == "needs_operator"
    flush(api.post, f"{BASE}/{manual_id}/retry/")
    assert api.get(f"{BASE}/{manual_id}/").json()["state"] == "needs_operator"  # failed again
    flush(api.post, f"{BASE}/{manual_id}/compensate/")
    assert api.get(f"{BASE}/{manual_id}/").json()["state"] == "compensated"
    with tenant_context(tenant_alpha):
        assert short(WorkflowRun.objects.get(pk=manual_id)) == ["undo-b", "undo-a"]


def test_viewers_read_but_do_not_act(alpha_viewer, alpha_owner, tenant_alpha, flush):
    run_id = flush(
        api_as(alpha_owner, tenant_alpha).post,
        f"{BASE}/",
        {"definition": "t.approval"},
        format="json",
    ).json()["id"]
    api = api_as(alpha_viewer, tenant_alpha)
    assert api.get(f"{BASE}/{run_id}/").status_code == 200
    for path in ("cancel/", "signal/", "retry/"):
        assert (
            api.post(f"{BASE}/{run_id}/{path}", {"name": "approved"}, format="json").status_code
            == 403
        )
    assert api.post(f"{BASE}/", {"definition": "t.three"}, format="json").status_code == 403


def test_another_tenants_run_is_missing_and_cannot_be_signalled(
    alpha_owner, beta_owner, tenant_alpha, tenant_beta, flush
):
    run_id = flush(
        api_as(alpha_owner, tenant_alpha).post,
        f"{BASE}/",
        {"definition": "t.approval"},
        format="json",
    ).json()["id"]
    beta = api_as(beta_owner, tenant_beta)
    for method, suffix, body in (
        ("get", "", None),
        ("post", "signal/", {"name": "approved"}),
        ("post", "cancel/", None),
        ("post", "retry/", None),
    ):
        foreign = getattr(beta, method)(f"{BASE}/{run_id}/{suffix}", body, format="json")
        missing = getattr(beta, method)(f"{BASE}/987654321/{suffix}", body, format="json")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content
    assert beta.get(f"{BASE}/").json()["count"] == 0
    with tenant_context(tenant_alpha):
        run = WorkflowRun.objects.get(pk=run_id)
        assert run.state == RunState.WAITING and not run.cancel_requested and not run.signals
