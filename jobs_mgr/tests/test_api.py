"""The jobs API: list and detail with progress, resume and cancel, roles, conflicts as
409 JSON, and another tenant's job exactly like a missing one."""

import pytest

from jobs_mgr import actions, engine
from jobs_mgr.models import Job, JobState
from jobs_mgr.tests.conftest import COUNT, steps_done
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/jobs"


def _job(tenant, *, n=3, steps=None, **params):
    with tenant_context(tenant):
        job = actions.enqueue_job(COUNT, {"n": n, **params})
        if steps is not None:
            engine.run_job(job.pk, max_steps=steps)
        job.refresh_from_db()
        return job


def test_jobs_list_and_detail_show_progress(alpha_owner, tenant_alpha):
    job = _job(tenant_alpha, n=4, steps=1)
    api = api_as(alpha_owner, tenant_alpha)
    listed = api.get(f"{BASE}/")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row["id"] == job.pk and row["kind"] == COUNT and row["state"] == "running"
    assert (row["progress_done"], row["progress_total"], row["progress"]) == (1, 4, 0.25)
    assert row["heartbeat_at"] and row["lease_expires_at"] and row["attempts"] == 1
    assert "lease_token" not in row
    detail = api.get(f"{BASE}/{job.pk}/").json()
    assert detail["checkpoint"] == {"i": 1} and detail["params"]["n"] == 4
    assert api.get(f"{BASE}/?state=queued").json()["results"] == []
    assert len(api.get(f"{BASE}/?state=running&kind={COUNT}").json()["results"]) == 1
    bad = api.get(f"{BASE}/?state=sleeping")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_jobs_need_the_admin_role(alpha_viewer, tenant_alpha):
    job = _job(tenant_alpha)
    api = api_as(alpha_viewer, tenant_alpha)
    for response in (
        api.get(f"{BASE}/"),
        api.get(f"{BASE}/{job.pk}/"),
        api.post(f"{BASE}/{job.pk}/cancel/"),
    ):
        assert response.status_code == 403 and response.json()["error"]["code"]
    with tenant_context(tenant_alpha):
        assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_cancel_and_resume_over_the_api(
    alpha_owner, tenant_alpha, django_capture_on_commit_callbacks
):
    api = api_as(alpha_owner, tenant_alpha)
    running = _job(tenant_alpha, n=3, steps=1)
    asked = api.post(f"{BASE}/{running.pk}/cancel/")
    # A worker holds it: honoured at its next step.
    assert asked.status_code == 202
    assert asked.json()["state"] == "running" and asked.json()["cancel_requested"] is True
    busy = api.post(f"{BASE}/{running.pk}/resume/")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "job_running"

    queued = _job(tenant_alpha, n=2)
    cancelled = api.post(f"{BASE}/{queued.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = api.post(f"{BASE}/{queued.pk}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
    # Cancelled stays cancelled: resuming it is refused and changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        refused = api.post(f"{BASE}/{queued.pk}/resume/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_cancelled"
    assert api.get(f"{BASE}/{queued.pk}/").json()["state"] == "cancelled"
    with tenant_context(tenant_alpha):
        assert steps_done(queued) == []


def test_another_tenants_job_answers_like_a_missing_one(alpha_owner, tenant_alpha, tenant_beta):
    theirs = _job(tenant_beta, n=3)
    api = api_as(alpha_owner, tenant_alpha)
    for method, path in (
        ("get", f"{BASE}/{{}}/"),
        ("post", f"{BASE}/{{}}/cancel/"),
        ("post", f"{BASE}/{{}}/resume/"),
    ):
        foreign = getattr(api, method)(path.format(theirs.pk))
        missing = getattr(api, method)(path.format(987654321))
        malformed = getattr(api, method)(path.format("x1"))
        assert foreign.status_code == missing.status_code == malformed.status_code == 404
        assert foreign.content == missing.content == malformed.content
    assert api.get(f"{BASE}/").json()["results"] == []
    with tenant_context(tenant_beta):
        assert Job.objects.get(pk=theirs.pk).state == JobState.QUEUED  # untouched


def test_jobs_api_shows_progress_facts(alpha_owner, tenant_alpha):
    running = _job(tenant_alpha, n=4, steps=1)  # the runner sets the total
    unknown = _job(tenant_alpha, n=4)  # queued, no total yet
    api = api_as(alpha_owner, tenant_alpha)
    row = api.get(f"{BASE}/{running.pk}/").json()
    assert row["percent"] == 25.0 and row["rate"] > 0 and row["eta_seconds"] >= 0
    assert row["elapsed_seconds"] >= 0
    assert row["can_cancel"] is True and row["cancel_refusal"] is None
    assert row["can_resume"] is False and "running" in row["resume_refusal"]
    queued = api.get(f"{BASE}/{unknown.pk}/").json()
    assert queued["percent"] is None and queued["rate"] is None
    assert queued["eta_seconds"] is None and queued["elapsed_seconds"] is None
    assert queued["can_resume"] is False and "already queued" in queued["resume_refusal"]
    listed = {r["id"]: r for r in api.get(f"{BASE}/").json()["results"]}
    assert listed[running.pk]["percent"] == 25.0 and listed[unknown.pk]["percent"] is None


def test_illegal_transitions_are_409_with_the_refusal_the_job_shows(
    alpha_owner, tenant_alpha, django_capture_on_commit_callbacks
):
    api = api_as(alpha_owner, tenant_alpha)
    job = _job(tenant_alpha, n=1)
    queued = api.post(f"{BASE}/{job.pk}/resume/")
    assert queued.status_code == 409 and queued.json()["error"]["code"] == "job_queued"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{BASE}/{job.pk}/cancel/").status_code == 200
        cancelled = api.post(f"{BASE}/{job.pk}/resume/")
        assert cancelled.status_code == 409
        assert cancelled.json()["error"]["code"] == "job_cancelled"
        assert api.get(f"{BASE}/{job.pk}/").json()["state"] == "cancelled"  # nothing changed
        job = _job(tenant_alpha, n=1)  # runs to the end on commit
    done = api.get(f"{BASE}/{job.pk}/").json()
    assert done["state"] == "succeeded" and done["percent"] == 100.0
    assert (done["can_resume"], done["can_cancel"]) == (False, False)
    for verb, why in (("resume", "resume_refusal"), ("cancel", "cancel_refusal")):
        refused = api.post(f"{BASE}/{job.pk}/{verb}/")
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["code"] == "job_finished" and error["message"] == done[why]
