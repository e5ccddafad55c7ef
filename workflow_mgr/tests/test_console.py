"""The console's Workflows pages: the list, a run's page with its Gantt timeline and
steps, the buttons, a viewer's refused POST, another tenant's run as a 404."""

import pytest
from django.urls import reverse

from tenancy.context import tenant_context
from workflow_mgr import actions
from workflow_mgr.models import RunState, WorkflowRun

pytestmark = pytest.mark.django_db


def _run(tenant, definition, flush):
    with tenant_context(tenant), flush(execute=True):
        run = actions.create_run(definition)
    with tenant_context(tenant):
        return WorkflowRun.objects.get(pk=run.pk)


def test_list_and_run_page_with_its_timeline(
    client, alpha_owner, tenant_alpha, tenant_beta, django_capture_on_commit_callbacks
):
    ours = _run(tenant_alpha, "t.approval", django_capture_on_commit_callbacks)
    theirs = _run(tenant_beta, "t.three", django_capture_on_commit_callbacks)
    client.force_login(alpha_owner)
    page = client.get(reverse("console-workflows"))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-run-id="{ours.pk}"' in html and f'data-run-id="{theirs.pk}"' not in html
    assert client.get(reverse("console-workflows") + "?state=bogus").status_code == 400
    detail = client.get(reverse("console-workflow", args=[ours.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert 'data-chart="steps"' in html and "chart-steps-figure" in html  # the Gantt
    assert 'data-step="reserve"' in html and "&quot;made&quot;: &quot;reserve&quot;" in html
    assert reverse("console-workflow-cancel", args=[ours.pk]) in html
    assert client.get(reverse("console-workflow", args=[theirs.pk])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("console-workflow-cancel", args=[ours.pk]))
    assert done.status_code == 302
    with tenant_context(tenant_alpha):
        assert WorkflowRun.objects.get(pk=ours.pk).state == RunState.CANCELLED
    again = client.post(reverse("console-workflow-cancel", args=[ours.pk]), follow=True)
    assert "already cancelled" in again.content.decode()


def test_a_viewer_sees_no_buttons_and_may_not_act(
    client, alpha_viewer, tenant_alpha, django_capture_on_commit_callbacks
):
    run = _run(tenant_alpha, "t.approval", django_capture_on_commit_callbacks)
    client.force_login(alpha_viewer)
    html = client.get(reverse("console-workflow", args=[run.pk])).content.decode()
    assert reverse("console-workflow-cancel", args=[run.pk]) not in html
    assert client.post(reverse("console-workflow-cancel", args=[run.pk])).status_code == 403
    with tenant_context(tenant_alpha):
        assert not WorkflowRun.objects.get(pk=run.pk).cancel_requested
