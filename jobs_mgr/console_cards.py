"""The jobs' card on the console's operations home: jobs running and queued now, and
those that failed or succeeded in the last 24 hours (one aggregate query, in the
request's tenant context or under the operator's platform access). It links to the
console's Jobs page (jobs_mgr/console.py), for whoever may open it."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jobs_mgr.console import may_view
from jobs_mgr.models import Job, JobState
from tenancy.console_registry import Card, CardRow

WINDOW = dt.timedelta(hours=24)


def job_figures(now: dt.datetime | None = None) -> dict:
    since = (now or timezone.now()) - WINDOW
    return Job.objects.aggregate(
        running=Count("pk", filter=Q(state=JobState.RUNNING)),
        queued=Count("pk", filter=Q(state=JobState.QUEUED)),
        # A finished job is not written again: its last update is when it ended.
        failed=Count("pk", filter=Q(state=JobState.FAILED, updated_at__gte=since)),
        succeeded=Count("pk", filter=Q(state=JobState.SUCCEEDED, updated_at__gte=since)),
    )


def _jobs_page(state: str = "") -> str:
    url = reverse("console-jobs")
    return f"{url}?{urlencode({'state': state})}" if state else url


def jobs_card(request, tenants) -> Card | None:
    if not may_view(request):
        return None
    figures = job_figures()
    title, link = _("Jobs"), _jobs_page()
    if not any(figures.values()):
        return Card(
            "jobs",
            title,
            0,
            link=link,
            empty=_(
                "No job running, queued or finished in the last 24 hours. Long jobs such as "
                "a key rewrap appear here with their state when a manager starts one."
            ),
        )
    return Card(
        "jobs",
        title,
        figures["running"],
        link=link,
        subtitle=_("running now"),
        rows=(
            CardRow(
                _("Running"),
                figures["running"],
                link=_jobs_page(JobState.RUNNING),
            ),
            CardRow(
                _("Queued"),
                figures["queued"],
                link=_jobs_page(JobState.QUEUED),
            ),
            CardRow(
                _("Failed, last 24 h"),
                figures["failed"],
                link=_jobs_page(JobState.FAILED),
                tone="danger" if figures["failed"] else "",
            ),
            CardRow(_("Succeeded, last 24 h"), figures["succeeded"]),
        ),
    )
