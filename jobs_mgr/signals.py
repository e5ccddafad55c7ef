"""`job_event(sender=Job, job=, event=, actor=)`: sent inside the transaction that
changes a job (requested, cancel_requested, cancelled, resumed, requeued, succeeded,
failed). The security manager appends each to the tenant's audit log; this layer cannot
import it."""

from django.dispatch import Signal

job_event = Signal()
