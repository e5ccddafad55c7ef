"""`workflow_event(sender=WorkflowRun, run=, event=, actor=, step=)`: sent inside the
transaction that changes a run (created, step_succeeded, step_failed, compensating,
succeeded, failed, compensated, cancel_requested, cancelled, signalled, retried). A
feature may append each to the tenant's audit log; this layer cannot import it."""

from django.dispatch import Signal

workflow_event = Signal()
