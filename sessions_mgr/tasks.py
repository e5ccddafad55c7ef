"""Celery tasks of the session manager; tenant-scoped (sent per tenant by fan_out_task
from beat, see PERIODIC_TASKS)."""

from celery import shared_task

from sessions_mgr.actions import do_purge_expired_sessions
from sessions_mgr.analytics import Baseline, do_evaluate_session, do_train_anomaly_model
from sessions_mgr.selectors import get_session, sessions_of_tenant


@shared_task
def purge_expired_sessions_task(keep_seconds: int = 7 * 86400) -> int:
    return do_purge_expired_sessions(keep_seconds)


@shared_task
def train_anomaly_model_task() -> int | None:
    trained = do_train_anomaly_model()
    return trained["version"] if trained is not None else None


@shared_task
def evaluate_session_task(session_id: str) -> float | None:
    session = get_session(session_id)
    return do_evaluate_session(session)["anomaly_score"] if session is not None else None


@shared_task
def evaluate_active_sessions_task(limit: int = 5000) -> int:
    sessions = list(sessions_of_tenant()[:limit])
    baseline = Baseline()  # one history query for the batch, not one per session
    for session in sessions:
        do_evaluate_session(session, baseline)
    return len(sessions)
