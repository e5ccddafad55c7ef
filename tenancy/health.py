"""Answers while a dependency is down (issue 10, degraded modes).

- `DependencyUnavailableMiddleware`: a request that fails because the database cannot
  be reached (or Redis, or Celery's broker, where nothing falls back) gets a JSON 503 with
  `Retry-After`, never an HTML 500 or a traceback, whatever `DEBUG` is. How fast is
  the settings' job: `connect_timeout` and the pool's timeout (config/settings.py).
  Exceptions raised by views reach `process_exception`; those raised by other
  middleware are turned into a 500 by Django before they get here, so the
  `got_request_exception` signal marks the request and the 500 is replaced.
- `health`: `GET /health/`, for load balancers and people: which dependency is down.
  200 while the database answers (Redis down is `degraded`: the server still serves),
  503 with `Retry-After` while it does not. No authentication, no tenant data.
"""

from __future__ import annotations

import logging
import sys
import time

from django.core.signals import got_request_exception
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import JsonResponse

from tenancy import degraded

RETRY_AFTER_SECONDS = 5
REMIND_SECONDS = 60.0
log = logging.getLogger("dim.degraded")
_answered_at: dict[str, float] = {}
_FAILURE_ATTR = "_dim_unavailable"

_MESSAGES = {
    "database": "The database cannot be reached right now; try again shortly.",
    "redis": "A service this request needs (Redis) cannot be reached; try again shortly.",
    "broker": "The task queue cannot be reached right now; try again shortly.",
}


def _broker_errors() -> tuple[type[BaseException], ...]:
    try:
        from kombu.exceptions import OperationalError as BrokerConnectionError
    except ImportError:
        return ()
    return (BrokerConnectionError,)


_BROKER_ERRORS = _broker_errors()


def unavailable_kind(exc: BaseException | None) -> str | None:
    """The dependency whose outage `exc` is ("database", "redis", "broker"), or None."""
    if degraded.is_database_unavailable(exc):
        return "database"
    if degraded.REDIS_ERRORS and isinstance(exc, degraded.REDIS_ERRORS):
        return "redis"
    if _BROKER_ERRORS and isinstance(exc, _BROKER_ERRORS):
        return "broker"  # Celery could not send a task (kombu's connection error)
    return None


def unavailable_response(kind: str) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": f"{kind}_unavailable", "message": _MESSAGES[kind]}}, status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def response_for(exc: BaseException) -> JsonResponse | None:
    """The 503 for an outage (noted and counted), else None. For exception handlers
    that would otherwise turn every error into a 500 of their own."""
    kind = unavailable_kind(exc)
    if kind is None:
        return None
    dependency = degraded.database if kind == "database" else degraded.redis
    if kind == "broker":
        dependency = degraded.broker
    where = degraded.origin(exc)
    dependency.failed(f"request at {where}", exc)
    degraded.count(f"{kind}.unavailable_responses")
    now = time.monotonic()
    if now - _answered_at.get(where, -REMIND_SECONDS) >= REMIND_SECONDS:
        _answered_at[where] = now  # once a minute per place, not once per request
        log.warning(
            "unavailable_response",
            extra={"event": "unavailable_response", "dependency": kind, "raised_at": where},
        )
    return unavailable_response(kind)


@receiver(connection_created, dispatch_uid="tenancy.health.database_answers")
def _database_answers(sender, connection=None, **kwargs):
    if degraded.database.down:
        degraded.database.succeeded()  # logs the recovery once


@receiver(got_request_exception, dispatch_uid="tenancy.health.mark_unavailable")
def _mark_unavailable(sender, request=None, **kwargs):
    exc = sys.exc_info()[1]
    if request is not None and unavailable_kind(exc) is not None:
        setattr(request, _FAILURE_ATTR, exc)


class DependencyUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        failure = getattr(request, _FAILURE_ATTR, None)
        if failure is not None and response.status_code >= 500:
            return response_for(failure)
        return response

    def process_exception(self, request, exception):
        return response_for(exception)


# --- GET /health/ -------------------------------------------------------------------------


def _database_up() -> bool:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001  (any failure means "down" here)
        if degraded.is_database_unavailable(exc):
            degraded.database.failed("health", exc)
        connection.close_if_unusable_or_obsolete()
        return False
    degraded.database.succeeded()
    return True


def _redis_state() -> str:
    from tenancy.pubsub import configured_client

    client = configured_client()
    if client is None:
        return "not_configured"
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        degraded.redis.failed("health", exc)
        return "down"
    degraded.redis.succeeded()
    return "up"


def dependency_states() -> dict:
    """What `GET /health/` answers, as data (the console's Operations dashboard shows
    it too): `status` ok / degraded / down, each dependency's state, the fallbacks
    counted so far. Writes nothing."""
    database = "up" if _database_up() else "down"
    redis = _redis_state()
    status = "down" if database == "down" else "degraded" if redis == "down" else "ok"
    return {
        "status": status,
        "dependencies": {"database": database, "redis": redis},
        "fallbacks": degraded.counters(),
    }


def health(request):
    state = dependency_states()
    database = state["dependencies"]["database"]
    response = JsonResponse(state, status=503 if database == "down" else 200)
    if database == "down":
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
