"""Reads of the session manager (always through the scoped manager)."""

from __future__ import annotations

from django.utils import timezone

from audit_mgr.models import SecurityEvent
from sessions_mgr.models import Session


def sessions_of_tenant(*, active_only: bool = True):
    queryset = Session.objects.all()
    if active_only:
        queryset = queryset.filter(revoked_at__isnull=True, absolute_expires_at__gt=timezone.now())
    return queryset.order_by("-created_at")


def sessions_of_user(user_id: int, *, active_only: bool = True):
    return sessions_of_tenant(active_only=active_only).filter(user_id=user_id)


def get_session(session_id: str) -> Session | None:
    return Session.objects.filter(pk=session_id).first()


def events_of_session(session_id: str):
    """The session's security events (audit_mgr's one model), newest first."""
    return SecurityEvent.objects.filter(session_id_ref=session_id).order_by("-created_at", "-id")
