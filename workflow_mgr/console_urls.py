"""The console's Workflows pages, included under /console/workflows/ by config/urls.py."""

from django.urls import path, register_converter

from workflow_mgr import console


class RunIdConverter:
    # At most 18 digits: beyond, a 404 like any missing run (never a bigint overflow).
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(RunIdConverter, "run_id")

urlpatterns = [
    path("", console.run_list, name="console-workflows"),
    path("<run_id:run_id>/", console.run_detail, name="console-workflow"),
    *(
        path(f"<run_id:run_id>/{verb}/", console.run_act, {"verb": verb},
             name=f"console-workflow-{verb}")
        for verb in console.VERBS
    ),
]  # fmt: skip
