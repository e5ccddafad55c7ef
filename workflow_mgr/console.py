"""The console's Workflows pages: the tenant's runs (filter by state and workflow,
pages), and a run's page with its step timeline (a Plotly Gantt), each step's input and
output, and Retry, Cancel and Compensate buttons. Members see the runs; members and up
act (as the API); another tenant's run is a 404 like a missing one."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id
from tenancy.models import Role
from workflow_mgr import actions, charts, definitions, selectors
from workflow_mgr.models import RunState, WorkflowRun

VIEW_ROLE, ACT_ROLE = Role.VIEWER, Role.MEMBER
PER_PAGE = 25
VERBS = {
    "retry": actions.retry_run,
    "cancel": actions.cancel_run,
    "compensate": actions.compensate_run,
}


def may_view(request) -> bool:
    """Also the sidebar's permission for the Workflows item."""
    user = getattr(request, "user", None)
    return bool(
        user and user.is_authenticated and get_current_tenant_id() is not None
    ) and tenant_role_at_least(request, VIEW_ROLE)


def _require_view(request) -> None:
    if get_current_tenant_id() is None:
        raise Http404(_("Choose a tenant first."))
    if not tenant_role_at_least(request, VIEW_ROLE):
        raise PermissionDenied(_("The workflow pages need a role in the tenant."))


class RunFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("State"), required=False, choices=[("", "—"), *RunState.choices]
    )
    name = forms.ChoiceField(label=gettext_lazy("Workflow"), required=False)

    def __init__(self, data, names):
        super().__init__(data)
        self.fields["name"].choices = [("", "—"), *((n, n) for n in names)]


@never_cache
@login_required
@require_GET
def run_list(request):
    _require_view(request)
    names = sorted(
        set(definitions.names())
        | set(WorkflowRun.objects.order_by().values_list("name", flat=True).distinct())
    )
    form = RunFilterForm(request.GET or None, names)
    status, chosen = 200, {}
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_bound:
        chosen = {k: v for k, v in form.cleaned_data.items() if v}
    found = selectors.runs(**chosen) if status == 200 else WorkflowRun.objects.none()
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"run": run, "progress": round(selectors.progress(run) * 100)} for run in page]
    return render(
        request,
        "workflow_mgr/console/list.html",
        {**console_context(request, _("Workflows")), "form": form, "page": page, "rows": rows},
        status=status,
    )


def _run_or_404(run_id: int) -> WorkflowRun:
    try:
        return selectors.access_run(run_id)
    except WorkflowRun.DoesNotExist:
        raise Http404 from None


@never_cache
@login_required
@require_GET
def run_detail(request, run_id: int):
    _require_view(request)
    run = _run_or_404(run_id)
    steps = selectors.steps_of(run)
    rows = [
        {"step": s, "output": json.dumps(s.output, indent=2, sort_keys=True, ensure_ascii=False)}
        for s in steps
    ]
    timeline = charts.step_timeline(steps)
    return render(
        request,
        "workflow_mgr/console/detail.html",
        {
            **console_context(request, _("Workflow run #%(id)s: %(name)s") % {
                "id": run.pk, "name": run.name}),
            "run": run,
            "rows": rows,
            "timeline": timeline,
            "progress": round(selectors.progress(run) * 100),
            "input_json": json.dumps(run.input, indent=2, sort_keys=True, ensure_ascii=False),
            "may_act": tenant_role_at_least(request, ACT_ROLE),
        },
    )  # fmt: skip


@never_cache
@login_required
@require_POST
def run_act(request, run_id: int, verb: str):
    """Retry, cancel or compensate; a refused one is a message on the page."""
    change = VERBS.get(verb)
    if change is None:
        raise Http404
    _require_view(request)
    if not tenant_role_at_least(request, ACT_ROLE):
        raise PermissionDenied(_("Acting on workflow runs needs the member role."))
    run = _run_or_404(run_id)
    try:
        change(run.pk, actor=request.user.get_username())
    except actions.WorkflowConflict as exc:
        messages.warning(request, _("Run #%(id)s: %(why)s") % {"id": run.pk, "why": exc})
    else:
        messages.success(request, _("Run #%(id)s: done.") % {"id": run.pk})
    return HttpResponseRedirect(reverse("console-workflow", args=[run.pk]))
