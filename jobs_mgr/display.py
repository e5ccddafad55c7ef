"""A job's progress facts in people's words, for the console's pages, their live JSON
and the admin's job page: the same dictionary fills the page on the server and updates
it in the browser (jobs_mgr/static/jobs_mgr/job_progress.js sets the labels as text, so
every sentence is translated here, never in JavaScript)."""

from __future__ import annotations

from django.utils import formats
from django.utils.translation import gettext as _

from jobs_mgr import registry
from jobs_mgr.models import Job, JobState
from jobs_mgr.progress import ProgressFacts, progress_facts


def duration(seconds: int | None) -> str:
    """ "45 s", "3 min 20 s", "2 h 5 min"; an em dash when unknown."""
    if seconds is None:
        return "—"
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)d min %(s)d s") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)d h %(m)d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


def kind_title(kind: str) -> str:
    try:
        return registry.get(kind).title
    except registry.UnknownJobKind:
        return kind


def state_label(job: Job, facts: ProgressFacts) -> str:
    label = str(JobState(job.state).label)
    if job.state == JobState.RUNNING and not job.lease_live():
        return _("%(state)s (worker not answering)") % {"state": label}
    if job.state == JobState.RUNNING and job.cancel_requested:
        return _("%(state)s (cancel requested)") % {"state": label}
    return label


def job_display(job: Job, facts: ProgressFacts | None = None) -> dict:
    facts = facts or progress_facts(job)
    if facts.percent is None:
        percent_label = "—"
    else:
        percent_label = _("%(percent)s %%") % {"percent": formats.number_format(facts.percent, 1)}
    if facts.rate is None:
        rate_label = "—"
    else:
        rate_label = _("%(rate)s per second") % {
            "rate": formats.number_format(facts.rate, 1 if facts.rate < 100 else 0)
        }
    return {
        **facts.as_dict(),
        "kind": job.kind,
        "kind_title": kind_title(job.kind),
        "state_label": state_label(job, facts),
        "percent_label": percent_label,
        "counts_label": _("%(done)s of %(total)s")
        % {"done": facts.done, "total": facts.total if facts.total else "?"},
        "eta_label": duration(facts.eta_seconds),
        "rate_label": rate_label,
        "elapsed_label": duration(facts.elapsed_seconds),
        # The bar: a value while the total is known; indeterminate (no value) while a
        # worker runs a job of unknown size; empty otherwise.
        "bar_value": facts.percent
        if facts.percent is not None
        else (None if job.state == JobState.RUNNING else 0),
    }
