"""Durable workflows (sagas) on Celery and PostgreSQL (services): tenant-scoped runs and
step runs, definitions registered by features (`definitions.register`) or given whole,
steps in sequence, in parallel or on a condition, retries with back-off and jitter, a
lease per step and a beat sweep that resumes a run whose worker died, idempotency keys
per step, compensation in reverse order (automatic or by an operator), signals and
durable timers, cancel. The API is /api/v1/workflows/; docs/workflows.md.

Layering: the upper part of the services layer. It imports jobs_mgr (the lease and the
worker's name) and the tenancy core; features import it. It offers the
`workflow_event` signal instead of importing the audit log.
"""
