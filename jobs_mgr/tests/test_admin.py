"""The console's Jobs pages: progress in the list and on the job's page, resume and
cancel as list actions and as buttons, the tenant's jobs only."""

import pytest
from django.urls import reverse

from jobs_mgr import actions, engine
from jobs_mgr.models import Job, JobState
from jobs_mgr.tests.conftest import COUNT
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:jobs_mgr_job_changelist"


def test_admin_lists_the_tenants_jobs_with_progress(client, alpha_owner, tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 4})
        engine.run_job(job.pk, max_steps=3)
    with tenant_context(tenant_beta):
        actions.enqueue_job(COUNT, {"n": 4})
    client.force_login(alpha_owner)
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert [j.pk for j in listing.context["cl"].result_list] == [job.pk]
    html = listing.content.decode()
    assert '<progress max="1" value="0.7500">' in html and "3 / 4 (75%)" in html
    page = client.get(reverse("admin:jobs_mgr_job_change", args=[job.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "3 / 4" in body and "lease_token" not in body
    assert reverse("admin:jobs_mgr_job_cancel", args=[job.pk]) in body


def test_admin_resume_and_cancel(
    client, alpha_owner, tenant_alpha, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_alpha):
        failed = actions.enqueue_job(COUNT, {"n": 2})
        Job.objects.filter(pk=failed.pk).update(state=JobState.FAILED, last_error="boom")
        queued = actions.enqueue_job(COUNT, {"n": 2})
    client.force_login(alpha_owner)
    response = client.post(
        reverse(CHANGELIST), {"action": "cancel_selected", "_selected_action": [queued.pk]}
    )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:jobs_mgr_job_resume", args=[failed.pk]))
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        assert Job.objects.get(pk=queued.pk).state == JobState.CANCELLED
        assert Job.objects.get(pk=failed.pk).state == JobState.SUCCEEDED  # ran after commit
    # A button GET changes nothing, and a viewer has no buttons to press.
    assert client.get(reverse("admin:jobs_mgr_job_resume", args=[queued.pk])).status_code == 403


def test_admin_buttons_need_the_admin_role_and_the_tenants_job(
    client, alpha_viewer, alpha_owner, tenant_alpha, tenant_beta
):
    with tenant_context(tenant_beta):
        theirs = actions.enqueue_job(COUNT, {"n": 2})
    with tenant_context(tenant_alpha):
        ours = actions.enqueue_job(COUNT, {"n": 2})
    client.force_login(alpha_viewer)
    refused = client.post(reverse("admin:jobs_mgr_job_cancel", args=[ours.pk]))
    assert refused.status_code in (302, 403) and "/login/" in refused.get("Location", "/login/")
    client.force_login(alpha_owner)
    foreign = client.post(reverse("admin:jobs_mgr_job_cancel", args=[theirs.pk]))
    missing = client.post(reverse("admin:jobs_mgr_job_cancel", args=[987654321]))
    assert foreign.status_code == missing.status_code == 302
    assert foreign["Location"] == missing["Location"]
    with tenant_context(tenant_beta):
        assert Job.objects.get(pk=theirs.pk).state == JobState.QUEUED
    with tenant_context(tenant_alpha):
        assert Job.objects.get(pk=ours.pk).state == JobState.QUEUED
