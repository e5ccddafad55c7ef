"""The console's Jobs pages: the tenant's long jobs with a live progress bar, ETA and
state, filters and pages, a job's own page with its result and last error, Resume and
Cancel buttons, and the read-only JSON the pages poll (`progress.json`).

Who sees what: the tenant's members (viewer and up) see its jobs; admins and owners get
the buttons (the role the admin's Jobs pages ask, `tenant_role_at_least`), and a POST
from anyone else is a 403. Platform operators without a chosen tenant see every tenant's
jobs with a tenant column, through the audited escape hatch the console opened for them,
but act only after picking the job's tenant: a job is resumed in its tenant's context.
Another tenant's job is a 404 like a missing one, and absent from the JSON."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from jobs_mgr import actions, registry
from jobs_mgr.display import job_display, kind_title
from jobs_mgr.models import Job, JobState
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id, in_platform_access
from tenancy.models import Role, Tenant

VIEW_ROLE = Role.VIEWER
ACT_ROLE = Role.ADMIN  # as jobs_mgr.admin.JobAdmin.edit_role
PER_PAGE = 25
MAX_POLLED = 100  # ids in one progress.json request


def in_scope(request) -> bool:
    return get_current_tenant_id() is not None or (
        request.user.is_superuser and in_platform_access()
    )


def may_view(request) -> bool:
    """Also the console sidebar's permission for the Jobs item."""
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and in_scope(request)) and tenant_role_at_least(
        request, VIEW_ROLE
    )


def may_act(request) -> bool:
    return get_current_tenant_id() is not None and tenant_role_at_least(request, ACT_ROLE)


def _require_view(request) -> None:
    if not in_scope(request):
        raise Http404(_("Choose a tenant first."))
    if not tenant_role_at_least(request, VIEW_ROLE):
        raise PermissionDenied(_("The jobs pages need a role in the tenant."))


def _context(request, title, **extra) -> dict:
    platform = get_current_tenant_id() is None
    return {
        # The console shell: sidebar, header, and the title as the page's one <h1>.
        **console_context(request, title),
        "platform": platform,
        "may_act": may_act(request),
        "act_hint": _("Pick the job's tenant in the console's tenant switcher to act on it.")
        if platform and request.user.is_superuser
        else "",
        "progress_url": reverse("console-jobs-progress"),
        **extra,
    }


SELECT_CLASSES = (
    "border border-base-200 rounded-default px-2 py-1.5 bg-white text-font-important-light "
    "dark:bg-base-900 dark:border-base-700 dark:text-font-important-dark"
)


class JobFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("State"), required=False, choices=[("", "—"), *JobState.choices]
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)

    def __init__(self, data, kinds):
        super().__init__(data)
        self.fields["kind"].choices = [("", "—"), *((k, kind_title(k)) for k in kinds)]
        for field in self.fields.values():
            field.widget.attrs["class"] = SELECT_CLASSES


def _tenant_slugs(jobs) -> dict[int, str]:
    ids = {job.tenant_id for job in jobs}
    return dict(Tenant.objects.filter(pk__in=ids).values_list("pk", "slug")) if ids else {}


@never_cache
@login_required
@require_GET
def job_list(request):
    _require_view(request)
    jobs = Job.objects.order_by("-created_at", "-id")
    kinds = sorted(
        set(registry.names()) | set(jobs.order_by().values_list("kind", flat=True).distinct())
    )
    form = JobFilterForm(request.GET or None, kinds)
    status = 200
    if form.is_bound and not form.is_valid():
        jobs, status = jobs.none(), 400
    elif form.is_bound:
        chosen = {k: v for k, v in form.cleaned_data.items() if v}
        jobs = jobs.filter(**chosen)
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    slugs = _tenant_slugs(page.object_list)
    rows = [{"job": job, "p": job_display(job), "tenant": slugs.get(job.tenant_id)} for job in page]
    return render(
        request,
        "jobs_mgr/console/list.html",
        _context(
            request,
            _("Jobs — %(scope)s")
            % {"scope": getattr(request.tenant, "name", None) or _("all tenants")},
            form=form,
            page=page,
            rows=rows,
        ),
        status=status,
    )


@never_cache
@login_required
@require_GET
def job_detail(request, job_id: int):
    _require_view(request)
    job = get_object_or_404(Job.objects.all(), pk=job_id)  # scoped: another tenant's is 404
    tenant = _tenant_slugs([job]).get(job.tenant_id) if get_current_tenant_id() is None else ""
    return render(
        request,
        "jobs_mgr/console/detail.html",
        _context(
            request,
            _("Job #%(id)s: %(kind)s") % {"id": job.pk, "kind": kind_title(job.kind)},
            job=job,
            p=job_display(job),
            tenant=tenant,
            show_outcome=True,
            result_json=json.dumps(job.result, indent=2, sort_keys=True, ensure_ascii=False),
        ),
    )


def _next(request, job: Job) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/console/jobs/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("console-job", args=[job.pk])


@never_cache
@login_required
@require_POST
def job_act(request, job_id: int, verb: str):
    """Resume or cancel. Refused transitions (a job that succeeded, one running, one
    already finished) are a message on the page, never an error page."""
    change = {"resume": actions.resume_job, "cancel": actions.cancel_job}.get(verb)
    if change is None:
        raise Http404
    if not may_act(request):
        # Before looking the job up: the same answer for any id.
        raise PermissionDenied(_("Resuming and cancelling jobs needs the admin role."))
    job = get_object_or_404(Job.objects.all(), pk=job_id)
    try:
        job = change(job.pk, actor=request.user.get_username())
    except actions.JobConflict as exc:
        messages.warning(request, _("Job #%(id)s: %(why)s") % {"id": job.pk, "why": exc})
    else:
        if verb == "resume":
            done = _("Job #%(id)s is queued again: it continues from its checkpoint.")
        elif job.state == JobState.CANCELLED:
            done = _("Job #%(id)s is cancelled.")
        else:
            done = _("Job #%(id)s stops at its next step.")
        messages.success(request, done % {"id": job.pk})
    return HttpResponseRedirect(_next(request, job))


def _bad_ids(message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "invalid", "message": message}}, status=400)


@never_cache
@login_required
@require_GET
def job_progress_json(request):
    """GET ?ids=1,2: the progress of those of the caller's jobs that exist in its scope
    (others are simply absent: no answer tells another tenant's ids apart from missing
    ones). Reads only."""
    _require_view(request)
    raw = request.GET.get("ids", "")
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        return _bad_ids(_("Give the job ids as ?ids=1,2,3."))
    if len(parts) > MAX_POLLED:
        return _bad_ids(_("At most %(n)d job ids at once.") % {"n": MAX_POLLED})
    if not all(part.isascii() and part.isdigit() and len(part) < 19 for part in parts):
        return _bad_ids(_("Job ids are whole numbers, separated by commas."))
    jobs = Job.objects.filter(pk__in={int(part) for part in parts}).order_by("id")
    payload = [job_display(job) for job in jobs]
    return JsonResponse({"jobs": payload, "finished": all(p["finished"] for p in payload)})
