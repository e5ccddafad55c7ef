from tests.scoping_app.models import Folder
from workflow_mgr.models import StepRun


def folders(run) -> list[str]:
    """The run's effects, in the order they were written."""
    return list(
        Folder.objects.filter(name__startswith=f"wf-{run.pk}-")
        .order_by("id")
        .values_list("name", flat=True)
    )


def short(run) -> list[str]:
    return [name.split("-", 2)[2] for name in folders(run)]


def steps(run) -> dict:
    return {(s.phase, s.name): s for s in StepRun.objects.filter(run=run)}
