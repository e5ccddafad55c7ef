"""The console's Jobs pages, included under /console/jobs/ by config/urls.py."""

from django.urls import path, register_converter

from jobs_mgr import console


class JobIdConverter:
    # At most 18 digits: a bigger number would overflow the database's bigint (a 500);
    # beyond the pattern it is a 404 like any missing job.
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(JobIdConverter, "job_id")

urlpatterns = [
    path("", console.job_list, name="console-jobs"),
    path("progress.json", console.job_progress_json, name="console-jobs-progress"),
    path("<job_id:job_id>/", console.job_detail, name="console-job"),
    *(
        path(
            f"<job_id:job_id>/{verb}/", console.job_act, {"verb": verb}, name=f"console-job-{verb}"
        )
        for verb in ("resume", "cancel")
    ),
]
