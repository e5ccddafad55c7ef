"""Reads on workflow runs, always in the current tenant (the scoped manager)."""

from __future__ import annotations

from django.db.models import Count, Q

from workflow_mgr.models import Phase, StepRun, StepState, WorkflowRun


def runs(*, state: str | None = None, name: str | None = None):
    queryset = WorkflowRun.objects.order_by("-created_at", "-id")
    if state:
        queryset = queryset.filter(state=state)
    if name:
        queryset = queryset.filter(name=name)
    return queryset.annotate(
        steps_done=Count(
            "steps",
            filter=Q(
                steps__phase=Phase.ACTION,
                steps__state__in=[StepState.SUCCEEDED, StepState.SKIPPED],
            ),
        )
    )


def access_run(run_id) -> WorkflowRun:
    """The current tenant's run; WorkflowRun.DoesNotExist for a missing id, a foreign
    one and a malformed one alike."""
    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise WorkflowRun.DoesNotExist from None
    if not 0 < run_id < 2**63:
        raise WorkflowRun.DoesNotExist
    return runs().get(pk=run_id)


def steps_of(run: WorkflowRun) -> list[StepRun]:
    return list(StepRun.objects.filter(run=run).order_by("created_at", "id"))


def progress(run: WorkflowRun) -> float:
    """Done steps over the definition's steps, 0 to 1."""
    total = len(run.definition.get("steps", [])) or 1
    done = getattr(run, "steps_done", None)
    if done is None:
        done = StepRun.objects.filter(
            run=run, phase=Phase.ACTION, state__in=[StepState.SUCCEEDED, StepState.SKIPPED]
        ).count()
    return min(1.0, done / total)
