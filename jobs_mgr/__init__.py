"""Resumable long jobs (shared services): a tenant-scoped `Job` row with state,
progress, a JSON checkpoint, a heartbeat and a lease, run by Celery.

A feature registers a kind (`registry.register("security.rewrap", runner)`); the
runner advances the job in steps (`with ctx.step(): ...; ctx.save(checkpoint, done=)`),
each one transaction holding the job's row, so the work of a step and its checkpoint
commit together or not at all. A worker that dies leaves its lease to expire; the beat
sweep (`tasks.resume_stale_jobs_task`) puts the job back in the queue, and the next
worker continues from the last checkpoint. Cancel is honoured at the next step. The API
(`/api/v1/jobs/`) and the admin list jobs with their progress and resume or cancel them.

Layering: this app imports only the tenancy core; features import it. It offers the
`job_event` signal instead of importing the audit log.
"""
