from celery import shared_task

from security_mgr import actions


@shared_task
def rotate_due_keys_task() -> list[str]:
    """Per tenant: rotate the rings whose automatic rotation period has elapsed."""
    return actions.rotate_due_keys()


@shared_task(bind=True)
def rewrap_task(self, job_id: int, batch_size: int = 500) -> dict:
    """Run (or continue) a rewrap job here, with this batch size. New rewraps are sent
    as `jobs_mgr.tasks.run_job_task`; this stays for messages sent before that and for
    callers that choose the batch size. Progress is on the job (jobs_mgr)."""
    from security_mgr.rewrap import run_rewrap

    job = run_rewrap(job_id, batch_size=batch_size)
    return {
        "job": job.pk,
        "state": job.state,
        "rows_scanned": job.checkpoint.get("rows_scanned", 0),
        "values_rewrapped": job.checkpoint.get("values_rewrapped", 0),
    }


@shared_task
def check_probe_task(action: str, user_id: int) -> dict:
    """A run of 404s past the policy's threshold (security_mgr/probes.py): apply the
    policy's action to the user's sessions in the task's tenant, off the request. It
    gets no id and asks no other tenant anything: only the source's count led here."""
    return {"action": action, "sessions": actions.do_react_to_probe(action, user_id)}
