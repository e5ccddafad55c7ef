"""The console's Jobs pages (/console/jobs/): who sees which jobs and buttons, refused
transitions as a message on the page, filters and pages, and progress.json reading only
the caller's jobs. The live bar in a real browser is test_browser_progress.py."""

import pytest
from django.urls import reverse

from jobs_mgr import actions, console, engine
from jobs_mgr.models import Job, JobState
from jobs_mgr.tests.conftest import COUNT
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
LIST = "/console/jobs/"
PROGRESS = "/console/jobs/progress.json"


def _job(tenant, *, n=4, steps=None, state=None):
    with tenant_context(tenant):
        job = actions.enqueue_job(COUNT, {"n": n}, total=n)
        if steps is not None:
            engine.run_job(job.pk, max_steps=steps)
        if state is not None:
            Job.objects.filter(pk=job.pk).update(state=state)
        job.refresh_from_db()
        return job


def _state(tenant, job):
    with tenant_context(tenant):
        return Job.objects.get(pk=job.pk).state


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("persona", ["alpha_owner", "alpha_admin"])
def test_job_list_shows_progress_and_buttons_to_admins(
    request, client, persona, tenant_alpha, tenant_beta
):
    ours = _job(tenant_alpha, n=4, steps=1)
    theirs = _job(tenant_beta, n=4)
    client.force_login(request.getfixturevalue(persona))
    page = client.get(LIST)
    assert page.status_code == 200
    assert [row["job"].pk for row in page.context["rows"]] == [ours.pk]
    html = page.content.decode()
    assert f'data-job-id="{ours.pk}"' in html and f'data-job-id="{theirs.pk}"' not in html
    assert 'value="25.0"' in html and "25.0 %" in html and "1 of 4" in html
    assert reverse("console-job-cancel", args=[ours.pk]) in html
    assert 'data-job-progress-url="/console/jobs/progress.json"' in html
    assert "jobs_mgr/job_progress.js" in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_job_pages_for_a_viewer_have_no_buttons_and_refuse_a_post(
    client, alpha_viewer, tenant_alpha
):
    job = _job(tenant_alpha)
    client.force_login(alpha_viewer)
    for path in (LIST, f"{LIST}{job.pk}/"):
        page = client.get(path)
        assert page.status_code == 200
        assert f'data-job-id="{job.pk}"' in page.content.decode()
        assert b'data-action="cancel"' not in page.content and not page.context["may_act"]
    for verb in ("cancel", "resume"):
        assert client.post(f"{LIST}{job.pk}/{verb}/").status_code == 403
        assert client.post(f"{LIST}987654321/{verb}/").status_code == 403  # same for any id
    assert _state(tenant_alpha, job) == JobState.QUEUED


def test_job_detail_shows_result_and_last_error(client, alpha_owner, tenant_alpha):
    job = _job(tenant_alpha, n=2)
    with tenant_context(tenant_alpha):
        engine.run_job(job.pk)
        failed = _job(tenant_alpha, n=2)
        Job.objects.filter(pk=failed.pk).update(
            state=JobState.FAILED, last_error="RuntimeError: <disk> full"
        )
    client.force_login(alpha_owner)
    done = client.get(f"{LIST}{job.pk}/").content.decode()
    assert "&quot;counted&quot;: 2" in done and "100.0 %" in done
    assert 'data-action="resume" hidden' in done and 'data-action="cancel" hidden' in done
    assert "The job has already succeeded" in done
    broken = client.get(f"{LIST}{failed.pk}/").content.decode()
    assert "RuntimeError: &lt;disk&gt; full" in broken  # escaped
    assert 'data-action="resume" hidden' not in broken


def test_another_tenants_job_is_a_404_like_a_missing_one(
    client, beta_owner, tenant_alpha, tenant_beta
):
    theirs = _job(tenant_alpha)
    client.force_login(beta_owner)
    for suffix in ("", "cancel/", "resume/"):
        method = client.get if not suffix else client.post
        foreign = method(f"{LIST}{theirs.pk}/{suffix}")
        missing = method(f"{LIST}987654321/{suffix}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content
    huge = client.get(f"{LIST}{'9' * 30}/")  # beyond a bigint: not even a lookup
    assert huge.status_code == 404
    assert _state(tenant_alpha, theirs) == JobState.QUEUED


def test_refused_transitions_are_a_message_on_the_page(client, alpha_owner, tenant_alpha):
    succeeded = _job(tenant_alpha, n=1)
    with tenant_context(tenant_alpha):
        engine.run_job(succeeded.pk)
    running = _job(tenant_alpha, n=3, steps=1)
    client.force_login(alpha_owner)
    cases = [
        (succeeded, "resume", "already succeeded"),
        (succeeded, "cancel", "already succeeded"),
        (running, "resume", "is running"),
    ]
    for job, verb, words in cases:
        page = client.post(f"{LIST}{job.pk}/{verb}/", {"next": LIST}, follow=True)
        assert page.status_code == 200 and page.redirect_chain == [(LIST, 302)]
        [message] = _messages(page)
        assert f"Job #{job.pk}:" in message and words in message
    assert _state(tenant_alpha, succeeded) == JobState.SUCCEEDED
    assert _state(tenant_alpha, running) == JobState.RUNNING
    # A GET on a button's address changes nothing.
    assert client.get(f"{LIST}{succeeded.pk}/resume/").status_code == 405


def test_cancel_then_resume_then_cancel_again_from_the_page(
    client, alpha_admin, tenant_alpha, django_capture_on_commit_callbacks
):
    job = _job(tenant_alpha, n=2)
    client.force_login(alpha_admin)
    detail = f"{LIST}{job.pk}/"
    page = client.post(f"{detail}cancel/", {"next": detail}, follow=True)
    assert _messages(page) == [f"Job #{job.pk} is cancelled."]
    again = client.post(f"{detail}cancel/", {"next": detail}, follow=True)
    assert "already been cancelled" in _messages(again)[0] and again.status_code == 200
    # A cancelled job resumed: refused with the reason on the page, nothing changes.
    with django_capture_on_commit_callbacks(execute=True):
        resumed = client.post(f"{detail}resume/", {"next": "https://evil.example/"}, follow=True)
    assert resumed.redirect_chain == [(detail, 302)]  # an outside `next` is ignored
    assert resumed.status_code == 200 and "stays cancelled" in _messages(resumed)[0]
    assert _state(tenant_alpha, job) == JobState.CANCELLED
    twice = client.post(f"{detail}resume/", follow=True)
    assert "stays cancelled" in _messages(twice)[0]


def test_job_list_filters_and_pages(client, alpha_owner, tenant_alpha, monkeypatch):
    monkeypatch.setattr(console, "PER_PAGE", 2)
    jobs = [_job(tenant_alpha, n=2) for _ in range(3)]
    _job(tenant_alpha, state=JobState.FAILED)
    client.force_login(alpha_owner)
    queued = client.get(LIST, {"state": "queued", "kind": COUNT})
    assert [r["job"].pk for r in queued.context["rows"]] == [jobs[2].pk, jobs[1].pk]
    second = client.get(LIST, {"state": "queued", "page": 2})
    assert [r["job"].pk for r in second.context["rows"]] == [jobs[0].pk]
    assert "Page 2 of 2" in second.content.decode()
    assert "state=queued" in second.content.decode()  # the previous page keeps the filter
    bad = client.get(LIST, {"state": "sleeping"})
    assert bad.status_code == 400 and bad.context["rows"] == []
    assert "Select a valid choice" in bad.content.decode()
    assert client.get(LIST, {"page": "x"}).status_code == 200  # a bad page: the first


def test_progress_json_answers_only_the_callers_jobs(
    client, alpha_owner, tenant_alpha, tenant_beta
):
    ours = _job(tenant_alpha, n=4, steps=2)
    theirs = _job(tenant_beta, n=4, steps=1)
    client.force_login(alpha_owner)
    answer = client.get(PROGRESS, {"ids": f"{ours.pk},{theirs.pk},987654321"})
    assert answer.status_code == 200 and answer["Cache-Control"].startswith("max-age=0")
    body = answer.json()
    assert [j["id"] for j in body["jobs"]] == [ours.pk] and body["finished"] is False
    [row] = body["jobs"]
    assert row["percent"] == 50.0 and row["state"] == "running" and row["can_cancel"]
    assert row["percent_label"] == "50.0 %" and row["state_label"] == "Running"
    only_theirs = client.get(PROGRESS, {"ids": str(theirs.pk)}).json()
    assert only_theirs == client.get(PROGRESS, {"ids": "987654321"}).json()
    assert only_theirs == {"jobs": [], "finished": True}
    for bad in ("", "1,x", "-1", "1" * 30, ",".join(["1"] * 101)):
        refused = client.get(PROGRESS, {"ids": bad})
        assert refused.status_code == 400 and refused.json()["error"]["message"]
    assert client.post(PROGRESS, {"ids": str(ours.pk)}).status_code == 405
    with tenant_context(tenant_beta):
        assert Job.objects.get(pk=theirs.pk).progress_done == 1  # untouched


def test_progress_json_needs_a_login(client, tenant_alpha):
    job = _job(tenant_alpha)
    answer = client.get(PROGRESS, {"ids": str(job.pk)})
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_platform_operator_sees_every_tenant_but_acts_in_one(
    client, superuser, tenant_alpha, tenant_beta
):
    alpha = _job(tenant_alpha)
    beta = _job(tenant_beta)
    client.force_login(superuser)
    page = client.get(LIST)
    assert page.status_code == 200 and page.context["platform"]
    assert {(r["job"].pk, r["tenant"]) for r in page.context["rows"]} == {
        (alpha.pk, "alpha"),
        (beta.pk, "beta"),
    }
    html = page.content.decode()
    assert "Tenant</th>" in html and 'data-action="cancel"' not in html
    assert "tenant switcher" in html
    assert client.post(f"{LIST}{beta.pk}/cancel/").status_code == 403
    answer = client.get(PROGRESS, {"ids": f"{alpha.pk},{beta.pk}"}).json()
    assert {j["id"] for j in answer["jobs"]} == {alpha.pk, beta.pk}
    # In a tenant (the switcher), the operator acts there.
    session = client.session
    session["dim_tenant"] = "beta"
    session.save()
    assert client.post(f"{LIST}{beta.pk}/cancel/").status_code == 302
    assert _state(tenant_beta, beta) == JobState.CANCELLED


def test_staff_without_a_tenant_get_a_404(client, db):
    from django.contrib.auth import get_user_model

    lone = get_user_model().objects.create_user("lone", password="x", is_staff=True)
    client.force_login(lone)
    assert client.get(LIST).status_code == 404
    assert client.get(PROGRESS, {"ids": "1"}).status_code == 404


def test_admin_job_page_shows_the_live_bar(client, alpha_owner, tenant_alpha):
    job = _job(tenant_alpha, n=4, steps=1)
    client.force_login(alpha_owner)
    page = client.get(reverse("admin:jobs_mgr_job_change", args=[job.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-job-id="{job.pk}"' in html and 'value="25.0"' in html
    assert 'data-job-progress-url="/console/jobs/progress.json"' in html
    assert "jobs_mgr/job_progress.js" in html
    assert reverse("admin:jobs_mgr_job_cancel", args=[job.pk]) in html
    assert reverse("admin:jobs_mgr_job_resume", args=[job.pk]) not in html  # running


def _sidebar(client) -> dict:
    page = client.get("/")
    return {
        g["title"]: {i["title"]: i["link"] for i in g["items"]}
        for g in page.context["sidebar_navigation"]
    }


def test_jobs_page_is_in_the_console_shell(client, alpha_owner, alpha_admin, tenant_alpha):
    client.force_login(alpha_owner)
    assert _sidebar(client)["Jobs"]["Job progress"] == LIST
    page = client.get(LIST).content.decode()
    assert "Jobs — Alpha Ltd" in page and 'id="header-logout"' in page
    assert "favicon.svg" in page and "Django administration" not in page
    client.force_login(alpha_admin)
    assert _sidebar(client)["Jobs"]["Job progress"] == LIST


def test_jobs_page_is_not_in_the_sidebar_outside_a_tenant(client, db):
    from django.contrib.auth import get_user_model

    lone = get_user_model().objects.create_user("lone", password="x", is_staff=True)
    client.force_login(lone)
    links = [link for items in _sidebar(client).values() for link in items.values()]
    assert LIST not in links
