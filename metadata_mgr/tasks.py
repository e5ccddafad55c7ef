"""Celery tasks of the metadata manager; tenant-scoped (sent per tenant by fan_out_task
from beat, see PERIODIC_TASKS["metadata-search-index"])."""

from celery import shared_task

from metadata_mgr.actions.search_index import do_follow_encoder, do_index_pending


@shared_task
def index_search_task(limit: int = 5000) -> int:
    """Apply the tenant's search outbox (searches catch up too; this keeps the
    documents current for tenants nobody is searching), then re-encode documents left
    by a previous encoder (the AI registry's champion moved)."""
    total = done = do_index_pending(min(500, limit))
    while done and total < limit:
        done = do_index_pending(min(500, limit - total))
        total += done
    return total + do_follow_encoder(max(0, min(2000, limit - total)))
